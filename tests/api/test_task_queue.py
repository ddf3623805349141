"""The task queue's at-least-once (core.tasks): a task a dead worker left RUNNING is run again once it
is older than TASKS_STRANDED_AFTER. Its real worker killed with SIGKILL: tests/faults/test_task_worker.py;
emails and webhooks on their own queues: tests/api/test_webhooks.py."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.checks import tasks_stranded_after_check
from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD
from tests.api.test_webhooks import run_worker


@pytest.fixture(autouse=True)
def queued(settings):
    """The production backend (see tests/api/test_review_attacks.py): the tests commit for real."""
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": "django_tasks_db.DatabaseBackend"}}


def readiness_queues(client) -> dict:
    tasks = client.get("/health/ready").json()["tasks"]
    return {"all": tasks["oldest_unsent_age_s"], **tasks["queues"]}


@pytest.mark.django_db(transaction=True)
def test_a_task_its_dead_worker_left_running_is_run_again_after_the_bound_and_readiness_counts_it(client, settings):
    User.objects.create_user(email="ada@example.com", password=STRONG_PASSWORD, email_verified=True)
    assert client.post("/auth/email/code", json={"email": "ada@example.com"}).status_code == 202
    (row,) = DBTaskResult.objects.all()
    row.claim("killed-worker")  # and then the worker died: nothing marks the row

    # Within the bound it may be a live worker's: neither run again nor counted as waiting.
    run_worker()
    assert not mail.outbox
    assert readiness_queues(client) == {"all": None, "default": None, "webhooks": None}

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.TASKS_STRANDED_AFTER + 1)):
        ages = readiness_queues(client)
        assert ages["all"] == ages["default"] >= settings.TASKS_STRANDED_AFTER
        assert ages["webhooks"] is None
        run_worker()

    (email,) = mail.outbox
    assert email.to == ["ada@example.com"]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.worker_ids[0] == "killed-worker"
    assert len(row.worker_ids) == 2
    assert readiness_queues(client)["all"] is None


@pytest.mark.parametrize(("stranded_after", "errors"), [(300, []), (30, []), (29, ["core.E009"])])
def test_the_stranded_bound_must_exceed_what_a_task_takes(settings, stranded_after, errors):
    settings.EMAIL_TIMEOUT, settings.WEBHOOKS_DELIVERY_DEADLINE = 5, 10
    settings.TASKS_STRANDED_AFTER = stranded_after
    assert [error.id for error in tasks_stranded_after_check(None)] == errors
