"""Sign-in: lock-outs (django-axes) that an attacker cannot turn against a colleague, single sign-on users
without rights, and password reset.

A user name is locked only from the address that failed: five wrong passwords from an attacker's
machine lock that user name on that machine, not on the colleague's own. An address on its own is
locked only after many more failures (``SIGNIN_ADDRESS_FAILURE_LIMIT``, default 50 in the cool-off
window), which stops password spraying without locking out everyone behind a shared proxy address.

django-axes compares every parameter set with one limit; this handler scales each set's count by
its own limit before axes compares it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.mail import EmailMultiAlternatives
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template import loader
from django.utils import translation

from . import clock
from .addresses import client_ip
from .cache import NAMESPACE, count_up
from .models import Profile

logger = logging.getLogger(__name__)


class AddressAwareHandler(AxesDatabaseHandler):  # type: ignore[misc] # django-axes ships no type information
    """``AXES_LOCKOUT_PARAMETERS`` is ``[["username", "ip_address"], "ip_address"]``: limits 5 and 50."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        limit = int(settings.AXES_FAILURE_LIMIT)
        limits = (limit, int(settings.SIGNIN_ADDRESS_FAILURE_LIMIT))
        worst = 0
        for attempts, own_limit in zip(self.get_user_attempts(request, credentials), limits, strict=False):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * limit // own_limit)
        return worst


class RemoteUserWithoutRights(RemoteUserBackend):
    """Single sign-on (``AUTH_REMOTE_USER_HEADER``): a name seen for the first time becomes a user with no
    rights (no group, not staff, no password) until an administrator gives them some in ``/admin/``."""

    def configure_user(self, request: HttpRequest, user: Any, created: bool = True) -> Any:  # noqa: ARG002
        if created:
            user.is_staff = False
            user.is_superuser = False
            user.set_unusable_password()
            user.save(update_fields=["is_staff", "is_superuser", "password"])
            logger.info("Single sign-on: created the user %r, without rights until an administrator gives them", user)
        return user


# --- password reset: only with a mail server, rate-limited, saying nothing about who exists ----------

RESET_WINDOW = 3600  # seconds
RESET_PER_ADDRESS = 5  # requests per client address per window
RESET_PER_EMAIL = 3  # requests per e-mail address per window


def reset_enabled() -> bool:
    return bool(settings.PASSWORD_RESET_ENABLED)


def reset_allowed(request: HttpRequest, email: str) -> bool:
    """Whether this request may send a reset mail (both limits are counted either way)."""
    window = int(clock.time() // RESET_WINDOW)
    by_address = count_up(f"{NAMESPACE}:reset:ip:{client_ip(request)}:{window}", RESET_WINDOW)
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    by_email = count_up(f"{NAMESPACE}:reset:email:{digest}:{window}", RESET_WINDOW)
    return by_address <= RESET_PER_ADDRESS and by_email <= RESET_PER_EMAIL


class QuietPasswordResetForm(PasswordResetForm):
    """Sends in the background: the answer takes as long, and says the same, whether or not the
    address belongs to anyone. A failure to send is logged without the address or the user (Django's
    own form logs the user's id: a log reader could learn whose address it is)."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Who gets a mail is read here, in the request (the same query for any address); the mail
        # itself goes out from a thread of its own, which needs no database.
        self.recipients = list(super().get_users(self.cleaned_data["email"]))
        # Each mail in its reader's saved language, else the language of the page that asked for it.
        saved = dict(Profile.objects.filter(user__in=self.recipients).values_list("user_id", "language"))
        asked = translation.get_language() or settings.LANGUAGE_CODE
        self.languages = {user.pk: saved.get(user.pk) or asked for user in self.recipients}
        threading.Thread(
            target=PasswordResetForm.save, args=(self, *args), kwargs=kwargs, name="password-reset-mail", daemon=True
        ).start()

    def get_users(self, email: str) -> Iterator[Any]:  # noqa: ARG002 - read once in save(), for any address
        return iter(self.recipients)

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,  # noqa: ARG002 - the reset mail is plain text
    ) -> None:
        user_pk = getattr(context.get("user"), "pk", 0)
        with translation.override(self.languages.get(user_pk, settings.LANGUAGE_CODE)):
            subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
            body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(subject, body, from_email, [to_email])
        try:
            message.send()
        except Exception as exc:  # a mail server may fail in any way; nothing of it reaches the user
            logger.error("Could not send a password reset mail: %s", type(exc).__name__)


class DeskPasswordResetView(PasswordResetView):
    form_class = QuietPasswordResetForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not reset_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if reset_allowed(self.request, form.cleaned_data["email"]):
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())  # the same answer: nothing is revealed


def only_with_mail(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The other reset pages exist only when the desk can send mail (``EMAIL_URL``)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not reset_enabled():
            raise Http404
        return view(request, *args, **kwargs)

    return checked
