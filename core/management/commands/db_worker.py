"""`manage.py db_worker`: django-tasks-db's worker, which also puts back the tasks a dead worker stranded.

This command takes the name because core comes before django_tasks_db in INSTALLED_APPS. The
library's worker marks a task RUNNING when it claims it and nothing else ever looks at it again,
so a worker killed mid-task (SIGKILL, out of memory, the machine gone) would lose it for good.
Every worker sweeps (core.tasks.stranded_requeue) when it starts and then every half of
TASKS_STRANDED_AFTER from a thread of its own, since the library's loop offers no hook and is
busy for as long as a task runs.

The library's loop also ends the process on the first database error: a restart or a failover
(refused, cut, a demoted primary's read-only error) would leave its queue undrained until
someone restarted it. A lasting worker here rides such an outage out as the web processes do
(core.outages): it closes its connections, waits a little longer each time the outage persists,
and goes on; a task that was RUNNING when the connection died is left to the sweep. A `--batch`
run still ends with the error: its caller (cron, a deploy step) learns of it by the exit status.
"""

import logging
import threading
import time
from typing import Any

from django.db import DatabaseError, connections
from django_tasks_db.management.commands import db_worker

from core.conf import core_settings
from core.outages import DATABASE_ERRORS, first_line
from core.tasks import stranded_requeue

logger = logging.getLogger(__name__)

# Seconds a worker whose database failed waits before its next try: doubled while the outage
# lasts, up to the last, and back to the first once a try has run for longer than that.
RECONNECT_FIRST_DELAY = 0.5
RECONNECT_MAX_DELAY = 5.0


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


class Worker(db_worker.Worker):
    """The library's worker, which a lasting run keeps going through database outages (see the module docstring)."""

    def run(self) -> None:
        delay = RECONNECT_FIRST_DELAY
        while True:
            started = time.monotonic()
            try:
                return super().run()
            except DATABASE_ERRORS as exc:
                # A batch ends with the error, as before; so does a worker asked to stop while a task ran.
                if self.batch or not self.running:
                    raise
                # The loop offers no hook per round: a try that lasted had got through, so this is a new outage.
                if time.monotonic() - started > RECONNECT_MAX_DELAY:
                    delay = RECONNECT_FIRST_DELAY
                connections.close_all()  # the next try opens new ones, to whichever server is the primary now
                # The class and first line: no parameters, so no task arguments.
                logger.warning(
                    "Task worker lost its database (%s: %s); trying again in %.1f s",
                    exc.__class__.__name__,
                    first_line(exc),
                    delay,
                )
                # A stop request meanwhile ends the process at once (the library's handler exits when no task runs).
                time.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)


# The library's Command.handle makes its worker by this name and offers no other way in.
db_worker.Worker = Worker  # type: ignore[misc]


class Command(db_worker.Command):
    help = "Run a database background worker; it also requeues tasks stranded by a dead worker"

    def handle(self, *args: Any, **options: Any) -> None:
        # Before the first claim, so that a `--batch` run also gets what a dead worker left; a batch
        # ends when its queue is empty, so only a lasting worker sweeps again. A lasting worker
        # started while its database is down carries on (its loop waits for the database).
        if options["batch"]:
            stranded_requeue()
        else:
            _sweep()
            threading.Thread(target=_sweep_forever, name="stranded-task-sweep", daemon=True).start()
        super().handle(*args, **options)
