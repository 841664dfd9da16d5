"""Sign-in: passwords (off with ``OIDC_ONLY`` but for break-glass users), the audit row of every sign-in,
single sign-on users without rights, lock-outs (django-axes) that an attacker cannot turn against a
colleague, and password reset.

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

from asgiref.sync import sync_to_async
from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend, RemoteUserBackend
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import PasswordResetView
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template import loader
from django.utils import translation

from . import audit, clock, wording
from .addresses import client_ip
from .cache import NAMESPACE, count_up
from .models import AuditEvent, Profile

logger = logging.getLogger(__name__)


# --- passwords, and which way in a sign-in came -----------------------------------------------------


def password_allowed(username: object) -> bool:
    """With ``OIDC_ONLY``, only the user names in ``BREAK_GLASS_USERS`` may sign in with a password."""
    return not settings.OIDC_ONLY or (isinstance(username, str) and username in settings.BREAK_GLASS_USERS)


class PasswordBackend(ModelBackend):
    """Django's user name and password; with ``OIDC_ONLY`` for break-glass users only. It refuses the
    others after the same password hashing, so the answer's timing does not tell who is break-glass;
    django-axes counts the refusal like any wrong password."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if not password_allowed(name):
            get_user_model()().set_password(password)
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    async def aauthenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)


class DeskAuthenticationForm(AuthenticationForm):
    """The sign-in form; with ``OIDC_ONLY`` a refused password says that passwords are off, the same
    for every user name (break-glass or not, the right password or not)."""

    def get_invalid_login_error(self) -> ValidationError:
        if settings.OIDC_ONLY:
            return ValidationError(wording.PASSWORD_OFF, code="password_off")
        return super().get_invalid_login_error()


METHODS = {
    "exportjobs.signin.PasswordBackend": AuditEvent.SignInMethod.PASSWORD,
    "django.contrib.auth.backends.ModelBackend": AuditEvent.SignInMethod.PASSWORD,
    "exportjobs.oidc.OIDCBackend": AuditEvent.SignInMethod.OIDC,
    "django.contrib.auth.backends.RemoteUserBackend": AuditEvent.SignInMethod.REMOTE_USER,
}


def record_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:  # noqa: ARG001
    """An audit row for every sign-in, with its way in. A login made in code, outside an HTTP request
    (a request object without a method, as a test client's ``force_login`` makes), is not a sign-in. A
    row that cannot be written is logged; it does not stop the sign-in (every look at a job is still
    recorded, or not shown)."""
    method = METHODS.get(getattr(user, "backend", ""))
    if method is None or request is None or not request.method:
        return
    audit.record_sign_in(user=user, method=method, outcome=AuditEvent.Outcome.SIGNED_IN)


def connect_signals() -> None:
    user_logged_in.connect(record_sign_in, dispatch_uid="exportjobs.signin.record_sign_in")


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
