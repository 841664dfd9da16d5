"""/alerts/ (rules, their last deliveries, the last poll), a job's watch button, and the sandbox's outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from .. import wording
from ..access import desk_view
from ..alerts.outbox import message_of
from ..alerts.poll import DEFAULT_STATES, last_polls
from ..alerts.rules import RuleInvalid, parse_digest, rule_create, rule_test
from ..alerts.tasks import alert_deliver
from ..forms import AlertRuleForm
from ..models import AlertDelivery, AlertNotification, AlertRule, JobWatch
from ..presenters.times import local_text

PERMISSION = "exportjobs.manage_alerts"
DELIVERIES_SHOWN = 5

View = Callable[..., HttpResponseBase]


def alerts_view(view: View) -> View:
    """Signed in, and holding "Can manage alerts" (a superuser does); a 403 page otherwise."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(checked)


def _poll_line() -> str:
    last_ok, last = last_polls()
    when = local_text(last_ok.started_at) if last_ok is not None else "—"
    if last is None:
        return str(wording.ALERT_POLL_NEVER)
    if last.error:
        return str(wording.ALERT_POLL_FAILING) % {"error": last.error, "when": when}
    return str(wording.ALERT_POLL_LAST_OK) % {"when": when}


def _deliveries(rule: AlertRule) -> list[dict[str, Any]]:
    notifications = list(AlertNotification.objects.filter(rule=rule).order_by("-created_at")[:DELIVERIES_SHOWN])
    rows = []
    for notification in notifications:
        last = AlertDelivery.objects.filter(notification=notification).first()
        if notification.status == AlertNotification.Status.PENDING:
            outcome = "retrying" if notification.attempts else "pending"
        else:
            outcome = notification.status
        rows.append(
            {
                "when": local_text(last.at if last is not None else notification.created_at),
                "jobs": len(notification.jobs),
                "kind": notification.kind,
                "outcome": wording.ALERT_OUTCOMES[outcome],
                "outcome_key": outcome,
                "attempts": notification.deliveries.count(),
                "error": last.error if last is not None and not last.ok else "",
                "id": notification.id,
            }
        )
    return rows


@require_safe
@alerts_view
def alerts_page(request: HttpRequest) -> HttpResponse:
    return _page(request, AlertRuleForm(initial={"states": [s.value for s in DEFAULT_STATES], "language": "en"}))


def _page(request: HttpRequest, form: AlertRuleForm, status: int = 200) -> HttpResponse:
    rules = [{"rule": rule, "deliveries": _deliveries(rule)} for rule in AlertRule.objects.all()]
    context = {
        "rules": rules,
        "form": form,
        "poll_line": _poll_line(),
        "sandbox": settings.PLEO_SANDBOX,
        "state_labels": {state.value: label for state, label in wording.ALERT_STATES.items()},
    }
    return render(request, "exportjobs/alerts.html", context, status=status)


@require_POST
@alerts_view
def alert_rule_add(request: HttpRequest) -> HttpResponse:
    form = AlertRuleForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        rule = rule_create(
            name=form.cleaned_data["name"],
            channel=form.cleaned_data["channel"],
            states=form.cleaned_data["states"],
            companies=form.company_list(),
            language=form.cleaned_data["language"],
            digest_at=parse_digest(form.cleaned_data["digest"]),
        )
    except RuleInvalid as invalid:
        form.add_error(invalid.field if invalid.field in form.fields else None, wording.ALERT_FORM_ERRORS[invalid.code])
        form.data = {**form.data.dict(), "channel": ""}  # type: ignore[attr-defined] # a channel is never sent back
        return _page(request, form, status=400)
    messages.success(request, str(wording.ALERT_SAVED) % {"name": rule.name})
    return redirect("alerts")


@require_POST
@alerts_view
def alert_rule_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_id)
    name = rule.name
    rule.delete()
    messages.success(request, str(wording.ALERT_REMOVED) % {"name": name})
    return redirect("alerts")


@require_POST
@alerts_view
def alert_rule_test(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_id)
    notification = rule_test(rule=rule)
    alert_deliver.enqueue(str(notification.id))
    messages.success(request, str(wording.ALERT_TEST_QUEUED) % {"name": rule.name})
    return redirect("alerts")


@require_safe
@desk_view
def alerts_outbox(request: HttpRequest) -> HttpResponse:
    """The sandbox's outbox: the messages its sample rule and watchers were sent (none leave the machine)."""
    if not settings.PLEO_SANDBOX:
        raise Http404
    delivered = AlertNotification.objects.filter(status=AlertNotification.Status.DELIVERED).select_related("rule")[:20]
    shown = [{"notification": item, "message": message_of(item)} for item in delivered]
    return render(request, "exportjobs/alerts_outbox.html", {"shown": shown})


@require_POST
@desk_view
def job_watch(request: HttpRequest, job_id: str) -> HttpResponseRedirect:
    """Watch a job (an e-mail when it ends or may be stuck), or stop watching it (``unwatch`` in the form)."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        raise Http404 from None
    user = request.user
    if request.POST.get("unwatch"):
        JobWatch.objects.filter(job_id=parsed, user=user.pk or 0).delete()
        messages.success(request, str(wording.WATCH_OFF))
    elif not getattr(user, "email", ""):
        messages.error(request, str(wording.WATCH_NO_EMAIL))
    else:
        JobWatch.objects.get_or_create(job_id=parsed, user_id=user.pk, defaults={"source": "user"})
        messages.success(request, str(wording.WATCH_ON))
    return redirect(reverse("job_detail", args=[str(parsed)]))
