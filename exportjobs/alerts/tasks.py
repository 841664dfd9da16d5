"""The worker's tasks, on Django's tasks API (the django-tasks backport; ``django.tasks`` from Django 6) with
its database backend: ``manage.py alerts worker`` runs django-tasks-db's ``db_worker``.

- ``alerts_tick`` runs at the start of every interval: it first asks for the next tick (so a worker killed
  mid-tick loses no interval), then polls Pleo if no other worker has this interval (``poll.poll_take``),
  then delivers whatever is due and held by nobody (retries, and what a killed worker left).
- ``alert_deliver`` delivers one notification at once, right after the poll that wrote it.

Any number of ticks may wait at once (each worker asks for one when it starts): the interval's poll row
lets one poll through, and a tick that finds another waiting asks for no more, so their number settles.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .. import clock
from .outbox import notification_deliver, notifications_deliver_due
from .poll import alerts_poll, next_slot

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _deliver_later(notification_id: str, when: datetime) -> None:
    alert_deliver.using(run_after=when).enqueue(notification_id)


def _deliver_now(ids: list[str]) -> None:
    for notification_id in ids:
        alert_deliver.enqueue(notification_id)


def tick_ensure() -> bool:
    """Ask for the next tick, unless one waits already; True when one was asked for."""
    waiting = DBTaskResult.objects.filter(task_path=alerts_tick.module_path, status=TaskResultStatus.READY)
    if waiting.exists():
        return False
    alerts_tick.using(run_after=next_slot(clock.now())).enqueue()
    return True


@task()
def alerts_tick() -> None:
    tick_ensure()
    alerts_poll(deliver=_deliver_now, worker=worker_name())
    notifications_deliver_due(later=_deliver_later)


@task()
def alert_deliver(notification_id: str) -> None:
    notification_deliver(notification_id=notification_id, later=_deliver_later)
