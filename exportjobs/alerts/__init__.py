"""Alerts: a failed or stuck export reaches the right people without anyone opening the desk.

``channels`` (where a message goes: e-mail or an Apprise URL, and how a channel is shown masked),
``messages`` (what a message says, from the job's one verdict), ``poll`` (one poll of Pleo per interval:
state changes and their notifications in one transaction, the outbox), ``outbox`` (delivering a
notification with retries), ``tasks`` (the worker's tasks on Django's tasks API) and ``webhook``
(Pleo's signed ``export-job.created`` event).
"""
