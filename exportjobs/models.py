"""The audit trail: who looked at which export job (or list of jobs), when, and what they saw."""

from __future__ import annotations

import uuid

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


# --- alerts: who hears about what, and what the worker sent ------------------------------------


class AlertRule(models.Model):
    """Who hears about which jobs: a channel (an e-mail address or an Apprise URL), the states that fire,
    the companies (none: all), the language of the messages and when they go (at once or a daily digest).

    The channel holds secrets (a webhook's token, a password): it is never shown, logged or audited as
    entered, only masked (``exportjobs.alerts.channels.mask``)."""

    class Mode(models.TextChoices):
        AT_ONCE = "at_once", "At once"
        DIGEST = "digest", "Daily digest"

    name = models.CharField(max_length=100, unique=True)
    channel = models.TextField(help_text="mailto:… or an Apprise URL; shown masked after saving.")
    channel_masked = models.CharField(max_length=300, help_text="The channel as it is shown: secrets masked.")
    states = models.JSONField(default=list, help_text="The job states that fire this rule.")
    companies = models.JSONField(default=list, blank=True, help_text="Pleo company ids; empty: every company.")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.AT_ONCE)
    digest_at = models.TimeField(null=True, blank=True, help_text="A digest's time of day, in TIME_ZONE.")
    last_digest_on = models.DateField(null=True, blank=True, help_text="The last day a digest was written.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]  # noqa: RUF012
        permissions = [("manage_alerts", "Can manage alerts")]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.name} → {self.channel_masked}"


class JobWatch(models.Model):
    """A job someone asked to hear about once it finishes (or may be stuck): a user, or Pleo's webhook."""

    job_id = models.UUIDField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    source = models.CharField(max_length=16, default="user", help_text="user or webhook")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="When a poll last asked Pleo for it.")
    done_at = models.DateTimeField(null=True, blank=True, help_text="When its message was written.")

    class Meta:
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["job_id", "user"], name="exportjobs_jobwatch_job_user"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.user or self.source})"


class AlertJobState(models.Model):
    """The last state the poller saw a job in: a rule fires once per state a job enters."""

    job_id = models.UUIDField(primary_key=True)
    state = models.CharField(max_length=32)
    reason = models.CharField(max_length=64, blank=True)
    company_id = models.UUIDField(null=True, blank=True)
    changed_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.job_id} {self.state}"


class AlertNotification(models.Model):
    """One message to one channel: written in the same transaction as the state change (the outbox),
    delivered by a worker with retries. Its ``id`` is sent to webhooks so a receiver can drop a repeat."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    watch = models.ForeignKey(JobWatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    recipient = models.CharField(max_length=254, blank=True, help_text="A watcher's e-mail address.")
    language = models.CharField(max_length=8, default="en")
    state = models.CharField(max_length=32)
    reason = models.CharField(max_length=64, blank=True)
    jobs = models.JSONField(default=list, help_text="Each job as Pleo sent it, with its company's name.")
    seen_at = models.DateTimeField(help_text="When the poll saw the jobs so (their verdict is at this moment).")
    kind = models.CharField(max_length=8, default="jobs", help_text="jobs, digest or test")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    leased_until = models.DateTimeField(null=True, blank=True, help_text="A worker is delivering it until then.")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.id} {self.state} ×{len(self.jobs)} {self.status}"


class AlertDelivery(models.Model):
    """One attempt to deliver a notification, and how it went."""

    notification = models.ForeignKey(AlertNotification, on_delete=models.CASCADE, related_name="deliveries")
    at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    error = models.CharField(max_length=300, blank=True, help_text="What went wrong, secrets masked.")

    class Meta:
        ordering = ["-at", "-id"]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.notification_id} {'ok' if self.ok else self.error}"


class AlertPoll(models.Model):
    """One poll of Pleo for alerts: when, whether it got an answer, what it cost and what it found.

    ``slot`` is the start of its interval (``ALERT_POLL_SECONDS``) and unique: a worker polls only after
    writing the row for its interval, so the database lets one poll per interval through, however many
    workers and hosts try (the lease)."""

    slot = models.DateTimeField(unique=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.CharField(max_length=32, blank=True)
    jobs = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    job_calls = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else self.error}"
