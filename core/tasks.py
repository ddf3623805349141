"""The task queue: what leaves the process after the answer, so that the answer neither waits
for it nor depends on it (emails now; security notices and webhooks later).

Django's tasks framework through its backport, django-tasks (`TASKS` in config/settings.py):
the database backend (django-tasks-db) in production, drained by `manage.py db_worker`
(docs/operations.md); the immediate backend under `make run` and in the tests, which runs a
task inside the request that enqueued it. An app defines its tasks with `django_tasks.task`
in its own `tasks.py`, with JSON arguments only: ids and addresses, never a secret or a live
link (the row outlives the task), so the worker makes those when it runs.

A task whose work fails for a reason worth retrying (a mail server down) calls `task_retry`:
enqueued again after a growing delay, at most TASK_MAX_ATTEMPTS times in all, each failure
logged. The immediate backend cannot defer, so there the first failure is the last.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

TASK_MAX_ATTEMPTS = 5
# 30 s, 2 min, 8 min, 32 min: about three quarters of an hour before giving up.
_FIRST_DELAY = timedelta(seconds=30)
_DELAY_FACTOR = 4


def task_retry(task: Task, *, attempt: int, **kwargs: Any) -> None:
    """Enqueues `task` again with `attempt + 1` after a delay, or logs that it gives up."""
    name = task.name
    if attempt >= TASK_MAX_ATTEMPTS or not task.get_backend().supports_defer:
        logger.error("Task %s failed on attempt %d; not retried", name, attempt)
        return
    delay = _FIRST_DELAY * _DELAY_FACTOR ** (attempt - 1)
    task.using(run_after=timezone.now() + delay).enqueue(attempt=attempt + 1, **kwargs)
    logger.warning("Task %s failed on attempt %d; retried in %d s", name, attempt, delay.total_seconds())


def oldest_unsent_enqueued_at() -> datetime | None:
    """When the oldest task that is due and not yet run was enqueued; None when none waits (or the backend runs
    tasks at once). Readiness reports its age: a worker that stopped shows as a growing number."""
    if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        return None  # immediate: nothing waits for a worker
    return DBTaskResult.objects.ready().order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
