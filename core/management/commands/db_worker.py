"""`manage.py db_worker`: django-tasks-db's worker, which also puts back the tasks a dead worker stranded.

This command takes the name because core comes before django_tasks_db in INSTALLED_APPS. The
library's worker marks a task RUNNING when it claims it and nothing else ever looks at it again,
so a worker killed mid-task (SIGKILL, out of memory, the machine gone) would lose it for good.
Every worker sweeps (core.tasks.stranded_requeue) when it starts and then every half of
TASKS_STRANDED_AFTER from a thread of its own, since the library's loop offers no hook and is
busy for as long as a task runs.
"""

import logging
import threading
import time
from typing import Any

from django.db import DatabaseError, connections
from django_tasks_db.management.commands import db_worker

from core.conf import core_settings
from core.tasks import stranded_requeue

logger = logging.getLogger(__name__)


def _sweep() -> None:
    try:
        stranded_requeue()
    except DatabaseError:  # the database is down or locked (SQLite): the next sweep tries again
        logger.warning("Could not sweep stranded tasks", exc_info=True)
    finally:
        connections.close_all()  # this thread's own, so that none is left open between sweeps


def _sweep_forever() -> None:
    while True:  # a daemon thread: it ends with the worker
        time.sleep(core_settings().tasks_stranded_after.total_seconds() / 2)
        _sweep()


class Command(db_worker.Command):
    help = "Run a database background worker; it also requeues tasks stranded by a dead worker"

    def handle(self, *args: Any, **options: Any) -> None:
        # Before the first claim, so that a `--batch` run also gets what a dead worker left; a batch
        # ends when its queue is empty, so only a lasting worker sweeps again.
        stranded_requeue()
        if not options["batch"]:
            threading.Thread(target=_sweep_forever, name="stranded-task-sweep", daemon=True).start()
        super().handle(*args, **options)
