"""Signing in with the company's identity provider (OpenID Connect): the button, and each way it can fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from .errors import ErrorWording

if TYPE_CHECKING:
    pass  # a string, or a lazily translated one


SIGN_IN_WITH = _("Sign in with %(provider)s")
SIGN_IN_WITH_COMPANY = _("Sign in with your company account")
PASSWORD_OFF = _(
    "Passwords are turned off on Export Job Desk: sign in with your company account. Only the administrators' "
    "emergency accounts may use a password here, and only the right one."
)

# A sign-in with the provider that did not happen, keyed by why (exportjobs.oidc.SignInRefused.code).
SIGN_IN_FAILURES: dict[str, ErrorWording] = {
    "unavailable": ErrorWording(
        _("Your company's sign-in cannot be reached"),
        _(
            "Export Job Desk could not reach your company's sign-in service, or the service did not answer the way "
            "Export Job Desk is set up for. You are not signed in."
        ),
        _("Try again in a few minutes. If it lasts, tell Export Job Desk's administrator."),
    ),
    "expired": ErrorWording(
        _("This sign-in has expired"),
        _(
            "The sign-in took too long, was already used, or was started in another browser or tab that has "
            "since been closed, so Export Job Desk cannot finish it."
        ),
        _("Start the sign-in again: it takes one click."),
    ),
    "cancelled": ErrorWording(
        _("Sign-in was cancelled"),
        _("Your company's sign-in service did not sign you in: the sign-in was cancelled there, or it said no."),
        _("Sign in again when you are ready. If you did not cancel, ask Export Job Desk's administrator."),
    ),
    "refused": ErrorWording(
        _("Export Job Desk could not trust this sign-in"),
        _(
            "The answer from your company's sign-in service did not pass Export Job Desk's security checks, so you "
            "are not signed in."
        ),
        _("Try again. If it happens again, tell Export Job Desk's administrator when it happened."),
    ),
    "not_allowed": ErrorWording(
        _("Your account is turned off on Export Job Desk"),
        _("Your company's sign-in service knows you, but your account on Export Job Desk has been deactivated."),
        _("Ask Export Job Desk's administrator to turn it on again."),
    ),
    "locked": ErrorWording(
        _("Sign-in is paused for 15 minutes"),
        _(
            "There were too many failed sign-in attempts for this user name from this address (or for many "
            "names from this address), so sign-in is refused here for a while to protect the account."
        ),
        _("Wait 15 minutes and try again."),
    ),
}
SIGN_IN_FAILURE_PAGE = {
    "kicker": _("Signing in"),
    "next_heading": _("What to do next"),
    "again": _("Sign in again"),
    "technical_detail": _("Technical detail for support"),
}
