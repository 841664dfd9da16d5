"""Who may look: sign-in and the "Can view export jobs" permission, checked cheaply on every page.

Django answers ``has_perm`` with two queries per request (measured: a quarter of a cached job page's
time). The answer is kept in the cache for a minute, signed with ``SECRET_KEY`` (a value written
into a shared cache by anyone else is ignored) and tied to a version that any change to users,
groups or permissions replaces: a change made in admin applies at once in every worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, PermissionsMixin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponseBase

from .budgets import spending_for
from .cache import NAMESPACE, cache_add, cache_get_many, cache_set

PERMISSION = "exportjobs.view_export_jobs"
# Each answer remembered per user, by name: the view permission, and the alerts one the header asks about.
PERMISSIONS = {"allowed": PERMISSION, "alerts": "exportjobs.manage_alerts"}
ANSWER_TTL = 60  # seconds a user's answer is reused
VERSION_LOCAL = 2  # seconds a worker trusts the version it read: a change applies everywhere within this
ANSWER_LOCAL = 10  # seconds a worker keeps an answer without asking the shared cache
VERSION_KEY = f"{NAMESPACE}:perm-version"
SALT = "exportjobs.access.may_view"

View = Callable[..., HttpResponseBase]


def _answer_key(user_pk: object) -> str:
    return f"{NAMESPACE}:may-view:{user_pk}"


def _remembered(user_pk: object) -> tuple[dict[str, bool] | None, str]:
    """The signed answers remembered for this user under the current version, and that version."""
    local = {VERSION_KEY: VERSION_LOCAL, _answer_key(user_pk): ANSWER_LOCAL}
    found = cache_get_many(local, local_seconds=local)
    version = found.get(VERSION_KEY)
    if not isinstance(version, str):
        version = str(time.time_ns())
        cache_add(VERSION_KEY, version, None, when_down=False)
        return None, version
    try:
        answer = signing.loads(str(found.get(_answer_key(user_pk), "")), salt=SALT, max_age=ANSWER_TTL)
    except signing.BadSignature:
        return None, version
    if not isinstance(answer, dict) or answer.get("version") != version or answer.get("user") != str(user_pk):
        return None, version
    if not all(isinstance(answer.get(name), bool) for name in PERMISSIONS):
        return None, version
    return {name: answer[name] for name in PERMISSIONS}, version


def _holds(user: AbstractBaseUser | AnonymousUser, name: str) -> bool:
    """True when ``user`` (active, signed in) is a superuser or holds ``PERMISSIONS[name]``."""
    if not isinstance(user, PermissionsMixin) or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    answers, version = _remembered(user.pk)
    if answers is None:
        answers = {key: user.has_perm(permission) for key, permission in PERMISSIONS.items()}  # 2 queries for all
        signed = signing.dumps({**answers, "version": version, "user": str(user.pk)}, salt=SALT)
        cache_set(_answer_key(user.pk), signed, ANSWER_TTL, local_seconds=ANSWER_LOCAL)
    return answers[name]


def may_view(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True when ``user`` may see export jobs (active, and a superuser or holding the permission)."""
    return _holds(user, "allowed")


def may_manage_alerts(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True when ``user`` may manage alerts: the header's link, from the same remembered answer."""
    return _holds(user, "alerts")


def desk_view(view: View) -> View:
    """Sign-in, then the view permission: a 403 page (and no call to Pleo) without it; then the view,
    with its calls to Pleo counted against the user's budget."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not may_view(request.user):
            raise PermissionDenied
        with spending_for(f"user:{request.user.pk}"):  # every call to Pleo for this page counts for this user
            return view(request, *args, **kwargs)

    return login_required(checked)


def forget_answers(**kwargs: object) -> None:
    """Any change to who holds which permission: every remembered answer is void."""
    cache_set(VERSION_KEY, str(time.time_ns()), None, local_seconds=VERSION_LOCAL)


def connect_signals() -> None:
    user_model = get_user_model()
    for sender in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(forget_answers, sender=sender, dispatch_uid=f"exportjobs.access.{sender.__name__}")
    for model in (user_model, Group, Permission):
        post_save.connect(forget_answers, sender=model, dispatch_uid=f"exportjobs.access.save.{model.__name__}")
        post_delete.connect(forget_answers, sender=model, dispatch_uid=f"exportjobs.access.delete.{model.__name__}")
