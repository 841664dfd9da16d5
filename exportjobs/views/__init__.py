"""Short function views, one module per page family: ``pages`` (home, lookup), ``jobs`` (a job, its
refresh), ``bulk``, ``attention`` (the list and its CSV), ``health`` and ``errors`` (404, 403, 500);
``common`` maps every failure to its page (by ``exportjobs.policy``)."""
