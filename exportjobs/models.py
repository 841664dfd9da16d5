"""The audit trail: who looked at which export job (or list of jobs), when, and what they saw."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed job"
        REFRESH = "refresh", "Refreshed job"
        LOOKUP = "lookup", "Looked up"
        POLL = "poll", "Page left open (auto-refresh)"
        ATTENTION = "attention", "Viewed needs attention"
        ATTENTION_REFRESH = "refresh_list", "Refreshed needs attention"
        SIGN_IN = "sign_in", "Signed in"

    class Outcome(models.TextChoices):
        FOUND = "found", "Found"
        NOT_FOUND = "not_found", "Not found"
        ERROR = "error", "Error"
        INVALID = "invalid", "No valid job ID"
        SIGNED_IN = "signed_in", "Signed in"
        REFUSED = "refused", "Sign-in refused"

    class Source(models.TextChoices):
        FRESH = "fresh", "Fresh from Pleo"
        CACHE = "cache", "From cache"
        STALE = "stale", "Stale copy"
        NONE = "", "—"

    class SignInMethod(models.TextChoices):
        PASSWORD = "password", "Password"
        OIDC = "oidc", "Identity provider (OpenID Connect)"
        REMOTE_USER = "remote_user", "Trusted proxy header"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted.")
    action = models.CharField(max_length=16, choices=Action.choices)
    job_id = models.UUIDField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    source = models.CharField(max_length=8, choices=Source.choices, blank=True)
    job_status = models.CharField(max_length=64, blank=True, help_text="The status Pleo reported, as sent.")
    job_state = models.CharField(
        max_length=32, blank=True, help_text="What the desk showed the job as (its verdict: failed, cancelled, …)."
    )
    error_code = models.CharField(max_length=32, blank=True)
    failure_type = models.CharField(max_length=64, blank=True, help_text="Pleo's failure type, as sent.")
    job_created_at = models.DateTimeField(null=True, blank=True, help_text="When Pleo says the job was created.")
    job_entries = models.BigIntegerField(null=True, blank=True, help_text="How many entries Pleo says the job has.")
    filters = models.JSONField(
        null=True, blank=True, help_text="A list view's filters: period, statuses, company, format."
    )
    job_count = models.PositiveIntegerField(null=True, blank=True, help_text="How many jobs a list view showed.")
    signin_method = models.CharField(
        max_length=16, choices=SignInMethod.choices, blank=True, help_text="A sign-in's way in."
    )

    class Meta:
        # Django reads Meta options as plain class attributes (and the migrations record these lists).
        ordering = ["-created_at", "-id"]  # noqa: RUF012
        indexes = [models.Index(fields=["user", "-created_at"])]  # noqa: RUF012
        permissions = [("view_export_jobs", "Can view export jobs")]  # noqa: RUF012

    def __str__(self) -> str:
        who, job = self.username or "—", self.job_id or "—"
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {who} {self.action} {job} {self.outcome}"


class Profile(models.Model):
    """What the desk keeps about a user besides Django's account: the language they chose, which follows
    them to every device they sign in on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_profile")
    language = models.CharField(
        max_length=8, blank=True, choices=settings.LANGUAGES, help_text="Empty: the browser's language."
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.language or 'browser'})"


class OIDCIdentity(models.Model):
    """The person at the identity provider a user is: the provider's ``sub`` for its issuer, which never
    changes (an e-mail address can), so a user is found again by it at every sign-in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identity")
    issuer = models.CharField(max_length=255)
    sub = models.CharField(max_length=255, help_text="The provider's subject identifier for this person.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "identity provider account"
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["issuer", "sub"], name="exportjobs_oidc_identity_issuer_sub"),
        ]

    def __str__(self) -> str:
        return f"{self.user} = {self.sub} at {self.issuer}"
