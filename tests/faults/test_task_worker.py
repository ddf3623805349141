"""A task worker (`manage.py db_worker`, core/management/commands) killed with SIGKILL in the middle of a
webhook delivery: its task stays RUNNING, counted by readiness once older than TASKS_STRANDED_AFTER,
and the next worker's sweep puts it back in its queue and delivers it (core.tasks, at least once).
A worker whose database goes away (stopped, or answering read-only as a demoted primary) outlives
the outage and delivers what is enqueued once the database is back.
"""

import base64
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from tests.faults.servers import (
    ROOT,
    START_WAIT_SECONDS,
    Gunicorn,
    Postgres,
    SlowProvider,
    free_port,
    wait_until,
)

# The loopback receiver speaks plain http, which only DJANGO_DEBUG allows (webhooks.checks); the
# database backend then named, as DEBUG's default is the immediate one.
DEBUG_ENV = {"DJANGO_DEBUG": "1", "TASKS_BACKEND": "django_tasks_db.DatabaseBackend"}
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmnopqrstuv").decode()
# A worker that counts a task older than this as stranded; deliveries are cut well before it.
STRANDED_ENV = {**DEBUG_ENV, "TASKS_STRANDED_AFTER": "3", "WEBHOOKS_DELIVERY_DEADLINE": "1", "EMAIL_TIMEOUT": "1"}
# A worker that waits on the receiver for as long as the test takes to kill it.
PATIENT_ENV = {**DEBUG_ENV, "TASKS_STRANDED_AFTER": "600", "WEBHOOKS_DELIVERY_DEADLINE": "120", "EMAIL_TIMEOUT": "1"}


@pytest.fixture
def start_worker(stack_env, tmp_path) -> Iterator:
    """Starts `manage.py db_worker --queue-name webhooks` on the stack, with extra environment; kills it after."""
    started: list[subprocess.Popen] = []

    def start(**env: str) -> subprocess.Popen:
        # The child keeps its own copy of the log's descriptor.
        with (tmp_path / f"worker-{len(started)}.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    "--queue-name",
                    "webhooks",
                    "--no-startup-delay",
                    "--no-reload",
                ],
                cwd=ROOT,
                env=Gunicorn({**stack_env, **env}, log=tmp_path / "unused.log").env,
                stdout=log,
                stderr=log,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_one_and_readiness_shows_its_wait(
    start_server, start_worker, stack
):
    own_postgres, _ = stack
    with SlowProvider("hang") as receiver:
        hooks = json.dumps([{"url": f"{receiver.url}/hooks", "secret": SECRET, "events": ["session.started"]}])
        server = start_server(WEBHOOKS_JSON=hooks, live=False, **STRANDED_ENV)

        def webhooks_age() -> float | None:
            return server.request("GET", "/api/health/ready")[1]["tasks"]["queues"]["webhooks"]

        server.manage("issue_tokens", "--email", "killed-worker@example.com", "--create")  # session.started
        (message_id,) = own_postgres.execute(
            "SELECT m.id FROM webhooks_webhookmessage m JOIN core_user u ON u.id = m.user_id "
            "WHERE u.email = 'killed-worker@example.com'"
        )[0]

        first = start_worker(WEBHOOKS_JSON=hooks, **PATIENT_ENV)
        receiver.wait_for_request()  # the delivery is inside the receiver, its task RUNNING
        first.kill()
        first.wait()

        server.wait_until_live()  # booting meanwhile
        # Readiness counts the stranded task once it is older than TASKS_STRANDED_AFTER: not null meanwhile.
        wait_until(lambda: webhooks_age() is not None, "readiness counting the stranded delivery")
        assert webhooks_age() >= 3

        receiver.bodies["/hooks"] = {}
        receiver.mode = "slow"  # answers 200 from now on
        receiver.release.set()
        start_worker(WEBHOOKS_JSON=hooks, **STRANDED_ENV)
        wait_until(
            lambda: own_postgres.execute(
                "SELECT delivered_at IS NOT NULL FROM webhooks_webhookmessage WHERE id = %s", (message_id,)
            )[0][0],
            "the next worker delivering the message",
        )

    ((status, worker_count),) = own_postgres.execute(
        "SELECT status, jsonb_array_length(worker_ids::jsonb) FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'webhooks.tasks.webhook_deliver' AND args_kwargs->'kwargs'->>'user_id' = "
        "(SELECT id::text FROM core_user WHERE email = 'killed-worker@example.com')"
    )
    assert (status, worker_count) == ("SUCCESSFUL", 2)  # the same task, claimed by the killed worker then the next
    wait_until(lambda: webhooks_age() is None, "readiness showing nothing waits")


def _read_only(postgres: Postgres, on: bool) -> None:
    """Every session's transactions read-only, or writable again: as a primary demoted to a standby answers."""
    # This session writable whatever the server's default, so that it can turn the default back.
    options = "-c default_transaction_read_only=off"
    with psycopg.connect(postgres.url, autocommit=True, options=options) as connection:
        if on:
            connection.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            connection.execute("ALTER SYSTEM RESET default_transaction_read_only")
        connection.execute("SELECT pg_reload_conf()")


@pytest.mark.parametrize("outage", ["restart", "read-only"])
def test_a_worker_rides_out_an_outage_of_its_database_and_goes_on_delivering(
    start_worker, stack_env, stack, tmp_path, outage
):
    own_postgres, _ = stack
    with SlowProvider("slow", bodies={"/hooks": {}}) as receiver:
        hooks = json.dumps([{"url": f"{receiver.url}/hooks", "secret": SECRET, "events": ["session.started"]}])
        worker = start_worker(WEBHOOKS_JSON=hooks, **PATIENT_ENV)
        log = tmp_path / "worker-0.log"  # start_worker's first
        issuer = Gunicorn({**stack_env, "WEBHOOKS_JSON": hooks, **PATIENT_ENV}, log=tmp_path / "issuer.log")

        def deliver(email: str) -> str:
            """Enqueues a session.started delivery and waits for the worker to make it; its task's id."""
            issuer.manage("issue_tokens", "--email", email, "--create")
            ((task_id,),) = own_postgres.execute(
                "SELECT id::text FROM django_tasks_database_dbtaskresult WHERE task_path = "
                "'webhooks.tasks.webhook_deliver' AND args_kwargs->'kwargs'->>'user_id' = "
                "(SELECT id::text FROM core_user WHERE email = %s)",
                (email,),
            )
            wait_until(
                lambda: (
                    own_postgres.execute(
                        "SELECT status FROM django_tasks_database_dbtaskresult WHERE id::text = %s", (task_id,)
                    )
                    == [("SUCCESSFUL",)]
                ),
                f"the worker delivering to {email}",
                process=worker,
            )
            return task_id

        def outages_met() -> int:
            return log.read_text().count("Task worker lost its database")

        before = deliver(f"before-{outage}@example.com")
        if outage == "restart":
            own_postgres.stop()
        else:
            _read_only(own_postgres, True)
        try:
            # Two: the worker met the outage, waited, and tried again, still the same process.
            wait_until(lambda: outages_met() >= 2, "the worker meeting the outage twice", process=worker)
            assert worker.poll() is None
        finally:
            if outage == "restart":
                own_postgres.start()
            else:
                _read_only(own_postgres, False)
        after = deliver(f"after-{outage}@example.com")
        assert worker.poll() is None

    # Each claimed once, both by this one worker (its id is random per process): before and after the outage.
    text = log.read_text()
    (worker_id,) = set(re.findall(r"Starting worker worker_id=(\S+)", text))
    rows = own_postgres.execute(
        "SELECT id::text, status, worker_ids::jsonb FROM django_tasks_database_dbtaskresult WHERE id::text IN (%s, %s)",
        (before, after),
    )
    assert {task_id: (status, ids) for task_id, status, ids in rows} == {
        before: ("SUCCESSFUL", [worker_id]),
        after: ("SUCCESSFUL", [worker_id]),
    }
    assert receiver.paths == ["/hooks", "/hooks"]
    assert text.index(f"id={before}") < text.index("Task worker lost its database") < text.index(f"id={after}")


def test_a_worker_waiting_for_its_database_stops_when_asked(start_worker, tmp_path):
    # Nothing listens there: every try is refused, and the worker waits between them.
    worker = start_worker(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", **PATIENT_ENV)
    log = tmp_path / "worker-0.log"
    wait_until(
        lambda: log.read_text().count("Task worker lost its database") >= 2,
        "the worker waiting for its database",
        process=worker,
    )
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=START_WAIT_SECONDS) == 0  # a graceful stop, not the database's error
