"""Who may look: sign-in and the "Can view export jobs" permission, checked cheaply on every page.

Django answers ``has_perm`` with two queries per request. The answer is kept in the cache for a
minute under a version that any change to users, groups or permissions bumps, so a change made in
admin applies at once in this process and within a minute everywhere else.
"""

from __future__ import annotations

import time
from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models.signals import m2m_changed, post_delete, post_save

from .services import NAMESPACE, _cache_call

PERMISSION = "exportjobs.view_export_jobs"
ANSWER_TTL = 60  # seconds a user's answer is reused
VERSION_KEY = f"{NAMESPACE}:perm-version"


def _version() -> str:
    version = _cache_call(cache.get, VERSION_KEY)
    if version is None:
        version = str(time.time_ns())
        _cache_call(cache.add, VERSION_KEY, version, None)
    return str(version)


def may_view(user) -> bool:
    """True when ``user`` may see export jobs (active, and a superuser or holding the permission)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    key = f"{NAMESPACE}:may-view:{_version()}:{user.pk}"
    allowed = _cache_call(cache.get, key)
    if allowed is None:
        allowed = user.has_perm(PERMISSION)
        _cache_call(cache.set, key, allowed, ANSWER_TTL)
    return allowed


def desk_view(view):
    """Sign-in, then the view permission: a 403 page (and no call to Pleo) without it."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if not may_view(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(checked)


def forget_answers(**kwargs) -> None:
    """Any change to who holds which permission: every cached answer is void."""
    _cache_call(cache.set, VERSION_KEY, str(time.time_ns()), None)


def connect_signals() -> None:
    user_model = get_user_model()
    for sender in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(forget_answers, sender=sender, dispatch_uid=f"exportjobs.access.{sender.__name__}")
    for model in (user_model, Group, Permission):
        post_save.connect(forget_answers, sender=model, dispatch_uid=f"exportjobs.access.save.{model.__name__}")
        post_delete.connect(forget_answers, sender=model, dispatch_uid=f"exportjobs.access.delete.{model.__name__}")
