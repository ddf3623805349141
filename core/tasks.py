"""The task queue: what leaves the process after the answer, so that the answer neither waits
for it nor depends on it (emails now; security notices and webhooks later).

Django's tasks framework through its backport, django-tasks (`TASKS` in config/settings.py):
the database backend (django-tasks-db) in production, drained by `manage.py db_worker`
(docs/operations.md); the immediate backend under `make run` and in the tests, which runs a
task inside the request that enqueued it. An app defines its tasks with `django_tasks.task`
in its own `tasks.py`, with JSON arguments only: ids and addresses, never a secret or a live
link (the row outlives the task), so the worker makes those when it runs.

Two queues (`QUEUES` of TASKS): "default" for emails and "webhooks" for deliveries, each drained by its
own `db_worker --queue-name`, so a receiver that hangs until WEBHOOKS_DELIVERY_DEADLINE never holds an
email. Our `db_worker` (core/management/commands) is django-tasks-db's plus the sweep of stranded tasks:
a worker killed mid-task leaves its row RUNNING for good; once that is older than TASKS_STRANDED_AFTER,
longer than any task runs, the next sweep of any worker puts it back in its queue (stranded_requeue).
So a task runs at least once, maybe twice: each bears a second run (a second code email; the same
webhook-id, which receivers drop).

A task whose work fails for a reason worth retrying (a mail server down) calls `task_retry`:
enqueued again after a growing delay, as its RetrySchedule says (EMAIL_RETRIES unless given:
webhooks wait for their receivers far longer), each failure logged. The immediate backend
cannot defer, so there the first failure is the last.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus, task_backends
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from core.conf import core_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff: attempt n + 1 waits first_delay * factor ** (n - 1) after attempt n fails."""

    first_delay: timedelta
    factor: int
    max_attempts: int

    def delay(self, attempt: int) -> timedelta:
        """How long after failed attempt `attempt` (from 1) the next one runs."""
        return self.first_delay * self.factor ** (attempt - 1)


# 30 s, 2 min, 8 min, 32 min: about three quarters of an hour before giving up.
EMAIL_RETRIES = RetrySchedule(first_delay=timedelta(seconds=30), factor=4, max_attempts=5)


def task_retry(task: Task, *, attempt: int, schedule: RetrySchedule = EMAIL_RETRIES, **kwargs: Any) -> bool:
    """Enqueues `task` again with `attempt + 1` after the schedule's delay, or logs that it gives up.

    Returns whether it will run again."""
    name = task.name
    if attempt >= schedule.max_attempts or not task.get_backend().supports_defer:
        logger.error("Task %s failed on attempt %d; not retried", name, attempt)
        return False
    delay = schedule.delay(attempt)
    task.using(run_after=timezone.now() + delay).enqueue(attempt=attempt + 1, **kwargs)
    logger.warning("Task %s failed on attempt %d; retried in %d s", name, attempt, delay.total_seconds())
    return True


def _stranded(now: datetime) -> Q:
    """RUNNING since before TASKS_STRANDED_AFTER: no task runs that long, so its worker died (SIGKILL, power,
    out of memory) without marking it, and nothing else will."""
    return Q(status=TaskResultStatus.RUNNING, started_at__lt=now - core_settings().tasks_stranded_after)


def stranded_requeue() -> int:
    """Puts the stranded tasks back in their queue, READY as when enqueued, for any worker to run again (at
    least once: every task bears a second run); returns how many.

    One UPDATE whose condition is checked again on each row it locks, so workers sweeping at once requeue a
    row once, and a row another worker has claimed since (RUNNING, started now) is left to it."""
    now = timezone.now()
    stranded = DBTaskResult.objects.filter(_stranded(now))
    ids = list(stranded.values_list("id", flat=True))
    count = stranded.filter(id__in=ids).update(status=TaskResultStatus.READY)
    if count:
        logger.warning("Requeued %d task(s) stranded by a dead worker: %s", count, ", ".join(map(str, ids)))
    return count


def oldest_unsent_enqueued_at() -> dict[str, datetime | None]:
    """Each queue's oldest task that is due and not yet run (stranded ones included): when it was enqueued,
    None when none waits (always, when the backend runs tasks at once). Readiness reports their ages: a
    queue whose worker stopped, or never started, shows as a growing number."""
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    oldest: dict[str, datetime | None] = dict.fromkeys(sorted(backend.queues))
    if not isinstance(backend, DatabaseBackend):
        return oldest  # immediate: nothing waits for a worker
    waiting = DBTaskResult.objects.ready() | DBTaskResult.objects.filter(_stranded(timezone.now()))
    rows = waiting.filter(backend_name=backend.alias).order_by().values("queue_name").annotate(at=Min("enqueued_at"))
    return oldest | {row["queue_name"]: row["at"] for row in rows}
