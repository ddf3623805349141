"""The task queue: what leaves the process after the answer, so that the answer neither waits
for it nor depends on it (emails now; security notices and webhooks later).

Django's tasks framework through its backport, django-tasks (`TASKS` in config/settings.py):
the database backend (django-tasks-db) in production, drained by `manage.py db_worker`
(docs/operations.md); the immediate backend under `make run` and in the tests, which runs a
task inside the request that enqueued it. An app defines its tasks with `django_tasks.task`
in its own `tasks.py`, with JSON arguments only: ids and addresses, never a secret or a live
link (the row outlives the task), so the worker makes those when it runs.

A task whose work fails for a reason worth retrying (a mail server down) calls `task_retry`:
enqueued again after a growing delay, as its RetrySchedule says (EMAIL_RETRIES unless given:
webhooks wait for their receivers far longer), each failure logged. The immediate backend
cannot defer, so there the first failure is the last.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

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


def oldest_unsent_enqueued_at() -> datetime | None:
    """When the oldest task that is due and not yet run was enqueued; None when none waits (or the backend runs
    tasks at once). Readiness reports its age: a worker that stopped shows as a growing number."""
    if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        return None  # immediate: nothing waits for a worker
    return DBTaskResult.objects.ready().order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
