"""What Django's debug page (``DEBUG=1``, ``make dev``) may show: no password, wherever it is written.

Django's own filter hides settings whose *names* look secret (``…PASSWORD``, ``…KEY``, ``…TOKEN``); a
password inside a URL (``EMAIL_URL=smtp+tls://desk:…@mail…``, ``CACHE_URL=redis://:…@redis…``, a
database URL in the environment the development server hands on as request headers) would still be
shown in clear. ``DEFAULT_EXCEPTION_REPORTER_FILTER`` points here.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host — the password is everything between the first ':' after the user and
# the last '@' before a blank (masking too much is harmless; too little is not).
URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)\S*@")


class PasswordsInURLsFilter(SafeExceptionReporterFilter):
    """Django's filter, and a password in any URL of a setting, of the environment or of a local variable masked."""

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            text = str(value)  # also a lazy string, which the page would show as its text
            masked = URL_PASSWORD.sub(lambda match: f"{match['head']}{self.cleansed_substitute}@", text)
            return masked if masked != text else value
        if isinstance(value, dict):
            return {key: self.mask(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.mask(item) for item in value)
        return value

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        return self.mask(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [(name, self.mask(value)) for name, value in super().get_traceback_frame_variables(request, tb_frame)]
