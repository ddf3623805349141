"""Webhooks against a real receiver on loopback: signed per Standard Webhooks (checked with its
library and the spec's test vector), queued in an outbox committed with the change, delivered
by the task queue at least once, in order per user, with backoff, and disabled after a day.

The retries are driven through the production backend: tasks wait in the database and
`manage.py db_worker --batch` runs the due ones, with time-machine moving the clock to when
the next retry is due.
"""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to
from tests.api.test_accounts_api import signed_up
from tests.api.test_accounts_identities import google_login, link_google
from tests.conftest import bearer
from tokens.models import Session, SessionEndReason
from tokens.services import session_end_by_refresh, session_start
from webhooks.conf import Endpoint
from webhooks.delivery import signed_headers
from webhooks.events import EventType
from webhooks.models import WebhookEndpoint, WebhookMessage
from webhooks.tasks import WEBHOOK_RETRIES, webhook_deliver

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmnopqrstuv").decode()
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Receiver:
    """A receiver on loopback: answers each POST with the next of `statuses` (200 once they are spent),
    or holds it unanswered while `hang` is set. It verifies every request with the spec's library, at
    the moment it arrives (the clock the test moves), and keeps what it got."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[dict[str, Any]] = []
        self.hang = threading.Event()
        self.release = threading.Event()
        self.arrived = threading.Event()
        # Called as each POST arrives: a test moves the clock with it, as a slow receiver would.
        self.on_post: Callable[[], object] = lambda: None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    Webhook(SECRET).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                receiver.received.append({"headers": headers, "body": json.loads(body), "verified": verified})
                receiver.arrived.set()
                receiver.on_post()
                if receiver.hang.is_set():
                    receiver.release.wait(30)
                    return
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def types(self) -> list[str]:
        return [request["body"]["type"] for request in self.received]

    def ids(self) -> list[str]:
        return [request["headers"]["webhook-id"] for request in self.received]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    receiver = Receiver()
    settings.WEBHOOKS_JSON = [{"url": receiver.url, "secret": SECRET, "events": [str(event) for event in EventType]}]
    settings.WEBHOOKS_DELIVERY_DEADLINE = 1
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def queued(settings):
    """The production backend (see tests/api/test_review_attacks.py): the tests commit for real."""
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "default,webhooks", verbosity=0)


def waiting_tasks() -> int:
    """Deliveries waiting for the worker (a sign-in may queue a security notice's email too)."""
    return DBTaskResult.objects.ready().filter(task_path__startswith="webhooks.").count()


def sign_in(client, email: str = "ada@example.com"):
    response = client.post("/auth/token", json={"email": email, "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def ada(db) -> User:
    return User.objects.create_user(email="ada@example.com", password=STRONG_PASSWORD, email_verified=True)


# --- signatures ------------------------------------------------------------------------------


def test_signatures_match_the_specifications_test_vector():
    """The vector of standard-webhooks/standard-webhooks (libraries/python/tests/test_webhooks.py)."""
    endpoint = Endpoint(url="https://example.com/", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", events=frozenset())
    with time_machine.travel(datetime.fromtimestamp(1614265330, tz=UTC), tick=False):
        headers = signed_headers(endpoint, event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", body='{"test": 2432232314}')
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    # And the same by hand, from the spec's text: HMAC-SHA256 of "id.timestamp.body" under the decoded secret.
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    mac = hmac.new(key, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}', hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_reaches_the_receiver_signed_with_the_recommended_payload(client, ada, receiver, queued):
    tokens = sign_in(client)
    assert receiver.received == []  # nothing leaves inside the request
    run_worker()

    (request,) = receiver.received
    assert request["verified"]
    session = Session.objects.get()
    message = WebhookMessage.objects.get()
    assert request["headers"]["webhook-id"] == message.event_id
    assert request["body"]["type"] == "session.started"
    assert request["body"]["data"] == {"user_id": str(ada.pk), "session_id": str(session.pk)}
    assert datetime.fromisoformat(request["body"]["timestamp"]) <= datetime.now(tz=UTC)

    client.post("/auth/logout", json={"refresh": tokens["refresh"]}, headers=bearer(tokens["access"]))
    run_worker()
    assert receiver.types() == ["session.started", "session.ended"]
    assert receiver.received[1]["body"]["data"]["reason"] == "logout"
    assert all(request["verified"] for request in receiver.received)


# --- the outbox ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_change_rolled_back_sends_no_event_and_a_committed_one_keeps_its_own(ada, receiver, queued):
    def sign_in_that_fails_after_the_session() -> None:
        with transaction.atomic():
            session_start(user=ada)
            raise RuntimeError("the change fails after the session was written")

    with pytest.raises(RuntimeError):
        sign_in_that_fails_after_the_session()
    assert not Session.objects.exists()
    assert WebhookMessage.objects.count() == 0
    assert waiting_tasks() == 0  # the delivery task rolled back with it

    session_start(user=ada)
    assert WebhookMessage.objects.count() == 1
    assert waiting_tasks() == 1
    run_worker()
    assert receiver.types() == ["session.started"]


def _queries(action) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return [query["sql"] for query in queries]


def _sign_in_queries(ada: User) -> list[str]:
    session_start(user=ada)  # loads the signing keys, which a change of settings drops
    return _queries(lambda: session_start(user=ada))


@pytest.mark.django_db
def test_sign_in_and_logout_cost_no_query_when_no_endpoint_subscribes_to_them(ada, settings):
    settings.WEBHOOKS_JSON = []
    unsubscribed = _sign_in_queries(ada)
    settings.WEBHOOKS_JSON = [{"url": "https://example.com/h", "secret": SECRET, "events": ["user.deleted"]}]
    other_event = _sign_in_queries(ada)
    pair = session_start(user=ada)
    logout = _queries(lambda: session_end_by_refresh(refresh=pair.refresh))

    assert len(other_event) == len(unsubscribed)
    assert not any("webhooks_" in sql for sql in other_event + logout)
    assert len(logout) == 2  # session_end_by_refresh's own two

    settings.WEBHOOKS_JSON = [{"url": "https://example.com/h", "secret": SECRET, "events": ["session.started"]}]
    subscribed = _sign_in_queries(ada)
    assert len(subscribed) == len(unsubscribed) + 1  # the outbox row, in the sign-in's transaction
    assert WebhookMessage.objects.filter(event_type="session.started").count() == 2
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": "django_tasks_db.DatabaseBackend"}}
    queued = _sign_in_queries(ada)
    assert len(queued) == len(unsubscribed) + 2  # and the delivery task's row, in the same transaction


# --- delivery: retries, order, the same id, disabling ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_gets_retries_with_backoff_the_same_id_and_each_users_events_in_order(
    ada, receiver, queued, time_machine
):
    grace = User.objects.create_user(email="grace@example.com")
    time_machine.move_to(START, tick=False)
    receiver.statuses = [500]
    session_start(user=ada)  # 1: fails (500)
    run_worker()
    first = WebhookMessage.objects.get()
    assert first.attempts == 1
    assert first.next_attempt_at == START + timedelta(minutes=1)

    session_start(user=ada)  # 2: waits behind 1
    session_start(user=grace)  # another user's queue is not held up: delivered at once
    run_worker()
    assert receiver.ids() == [first.event_id, WebhookMessage.objects.get(user_id=grace.pk).event_id]

    time_machine.move_to(START + timedelta(seconds=59), tick=False)
    run_worker()
    assert len(receiver.received) == 2  # not due yet

    receiver.statuses = [503]
    time_machine.move_to(START + timedelta(minutes=1), tick=False)
    run_worker()  # 1 again: fails (503), next in 2 minutes
    first.refresh_from_db()
    assert (first.attempts, first.last_error) == (2, "HTTP 503")
    assert first.next_attempt_at == START + timedelta(minutes=3)

    time_machine.move_to(START + timedelta(minutes=3), tick=False)
    run_worker()  # 1 delivered, then 2
    second = WebhookMessage.objects.filter(user_id=ada.pk).order_by("id").last()
    ada_ids = [
        request["headers"]["webhook-id"]
        for request in receiver.received
        if request["body"]["data"]["user_id"] == str(ada.pk)
    ]
    assert ada_ids == [first.event_id, first.event_id, first.event_id, second.event_id]
    assert all(request["verified"] for request in receiver.received)  # each attempt signed afresh, still valid
    assert not WebhookMessage.objects.filter(delivered_at__isnull=True).exists()
    assert waiting_tasks() == 0


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_would_outlast_the_stranded_bound_hands_the_rest_to_a_new_task(
    ada, receiver, queued, time_machine, settings
):
    settings.TASKS_STRANDED_AFTER = 3  # and the deadline 1 s: no message starts 2 s after the task did
    time_machine.move_to(START, tick=False)
    receiver.on_post = lambda: time_machine.shift(timedelta(seconds=1.5))
    for _ in range(3):
        session_start(user=ada)
    assert waiting_tasks() == 3  # one per event, each draining ada's queue

    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "webhooks", "--max-tasks", "1")

    assert len(receiver.received) == 2  # the third would have begun at 3 s, past 2 s
    assert waiting_tasks() == 3  # the two events' tasks left, and the one taking the rest
    run_worker()
    assert receiver.ids() == list(WebhookMessage.objects.order_by("id").values_list("event_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_hung_receiver_never_delays_a_sign_in_and_its_delivery_is_cut_at_the_deadline(client, ada, receiver, queued):
    receiver.hang.set()
    sign_in(client)  # answers: the delivery is only queued
    assert receiver.received == []
    assert waiting_tasks() == 1

    run_worker()  # the worker waits for WEBHOOKS_DELIVERY_DEADLINE (1 s), not for the receiver
    assert len(receiver.received) == 1
    message = WebhookMessage.objects.get()
    assert (message.attempts, message.delivered_at) == (1, None)
    assert message.last_error in {"Timeout", "ReadTimeout", "ConnectionError"}

    sign_in(client)  # a sign-in while the receiver still holds the first request
    assert receiver.received[0]["body"]["type"] == "session.started"
    assert WebhookMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_sign_ins_answer_while_a_worker_is_held_by_a_hung_receiver(client, ada, receiver, queued, settings):
    settings.WEBHOOKS_DELIVERY_DEADLINE = 60  # the worker stays inside the receiver until released
    receiver.hang.set()
    sign_in(client)

    def deliver() -> None:  # the task, as the worker runs it (db_worker's signal handlers need the main thread)
        try:
            webhook_deliver.call(url=receiver.url, user_id=ada.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=deliver)
    worker.start()
    assert receiver.arrived.wait(30)  # only how long to wait for the worker to get there
    try:
        for _ in range(3):
            sign_in(client)  # each answers while the delivery hangs
        assert worker.is_alive()  # still held: the sign-ins did not wait for it
        assert len(receiver.received) == 1
    finally:
        receiver.release.set()
        worker.join()
    assert WebhookMessage.objects.filter(delivered_at__isnull=True).count() == 4


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_failing_for_a_day_is_disabled_logged_and_enabled_again_by_command(
    ada, receiver, queued, time_machine, caplog
):
    time_machine.move_to(START, tick=False)
    receiver.statuses = [500] * 100
    session_start(user=ada)
    run_worker()
    attempt_times = [START]
    moment = START
    for attempt in range(1, WEBHOOK_RETRIES.max_attempts):
        moment += WEBHOOK_RETRIES.delay(attempt)
        time_machine.move_to(moment, tick=False)
        run_worker()
        attempt_times.append(moment)
        if WebhookEndpoint.objects.get(url=receiver.url).disabled_at is not None:
            break

    endpoint = WebhookEndpoint.objects.get(url=receiver.url)
    assert endpoint.disabled_at == moment
    assert moment - START >= timedelta(days=1)  # a day of retries first
    assert len(receiver.received) == len(attempt_times)
    assert len(set(receiver.ids())) == 1  # every attempt the same message
    assert "disabled" in caplog.text
    assert "/hooks" not in caplog.text  # logs name the host only: a receiver's path may hold a token

    session_start(user=ada)  # still queued while disabled, never sent
    time_machine.move_to(moment + timedelta(days=3), tick=False)
    run_worker()
    assert len(receiver.received) == len(attempt_times)

    receiver.statuses = []
    call_command("webhooks_enable", receiver.url, verbosity=0)
    run_worker()
    assert WebhookEndpoint.objects.get(url=receiver.url).disabled_at is None
    assert receiver.types()[-2:] == ["session.started", "session.started"]
    assert receiver.ids()[-2] == receiver.ids()[0]  # the first message was kept, not abandoned, and goes first
    assert not WebhookMessage.objects.filter(delivered_at__isnull=True).exists()


# --- events from the services ------------------------------------------------------------------


@pytest.mark.django_db
def test_disabling_and_deleting_a_user_publish_every_session_end_and_the_deletion(ada, receiver):
    session_start(user=ada)
    session_start(user=ada)
    WebhookMessage.objects.all().delete()
    User.objects.filter(pk=ada.pk).update(is_active=False)  # the bulk path (core's users_disabled)
    ended = WebhookMessage.objects.filter(event_type="session.ended")
    assert ended.count() == 2
    assert {json.loads(message.body)["data"]["reason"] for message in ended} == {SessionEndReason.USER_DISABLED}

    user_id = ada.pk
    ada.delete()
    (deleted,) = WebhookMessage.objects.filter(event_type="user.deleted")
    assert json.loads(deleted.body)["data"] == {"user_id": str(user_id)}


@pytest.mark.django_db
def test_registration_and_verification_publish_user_created_and_updated(client, receiver):
    client.post("/auth/register", json={"email": "new@example.com", "password": STRONG_PASSWORD, "display_name": "N"})
    created = json.loads(WebhookMessage.objects.get(event_type="user.created").body)
    assert created["data"] == {
        "user_id": str(User.objects.get().pk),
        "email": "new@example.com",
        "email_verified": False,
        "display_name": "N",
    }
    client.post("/auth/email/verify", json={**last_link_to("new@example.com"), "password": STRONG_PASSWORD})
    updated = json.loads(WebhookMessage.objects.get(event_type="user.updated").body)
    assert updated["data"]["email_verified"] is True
    assert updated["data"]["changed"] == ["email_verified"]


# --- configuration and the test command ----------------------------------------------------------


def test_the_check_refuses_plain_http_short_secrets_and_unknown_events(settings):
    from webhooks.checks import webhook_endpoints_valid

    settings.DEBUG = False
    settings.WEBHOOKS_JSON = [
        {"url": "https://a.example/h", "secret": SECRET, "events": ["user.created"]},
        {
            "url": "http://b.example/h",
            "secret": "whsec_" + base64.b64encode(b"short").decode(),
            "events": ["user.made"],
        },
        "not an object",
    ]
    messages = [error.msg for error in webhook_endpoints_valid(None)]
    assert len(messages) == 4
    assert "endpoint 2's url is not https" in messages[0]
    assert "endpoint 2's secret" in messages[1]
    assert "user.made" in messages[2]
    assert "endpoint 3" in messages[3]


@pytest.mark.django_db
def test_webhooks_test_sends_a_signed_event_with_the_endpoints_secret_or_another(receiver, capsys):
    call_command("webhooks_test", receiver.url)
    other = "whsec_" + base64.b64encode(b"another secret of 24 bytes!").decode()
    call_command("webhooks_test", receiver.url, "--secret", other)
    assert receiver.types() == ["webhook.test", "webhook.test"]
    assert [request["verified"] for request in receiver.received] == [True, False]  # the receiver knows SECRET only
    assert "accepted msg_" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_example_receiver_verifies_with_the_library_and_refuses_another_secret(settings, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    server = example.receiver(SECRET, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        settings.WEBHOOKS_JSON = [{"url": url, "secret": SECRET, "events": ["user.created"]}]
        call_command("webhooks_test", url)
        other = "whsec_" + base64.b64encode(b"another secret of 24 bytes!").decode()
        with pytest.raises(CommandError, match="HTTP 400"):
            call_command("webhooks_test", url, "--secret", other)
    finally:
        server.shutdown()
        server.server_close()
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [event["type"] for event in printed] == ["webhook.test"]


def _published(event_type: str) -> list[dict[str, Any]]:
    return [json.loads(message.body)["data"] for message in WebhookMessage.objects.filter(event_type=event_type)]


@pytest.mark.django_db
@pytest.mark.usefixtures("social")
def test_a_provider_sign_up_linking_and_unlinking_publish_user_and_identity_events(client, rsps, receiver):
    google_login(client, rsps, email="grace@gmail.example")
    grace = User.objects.get(email="grace@gmail.example")
    assert _published("user.created") == [
        {
            "user_id": str(grace.pk),
            "email": "grace@gmail.example",
            "email_verified": True,
            "display_name": "Ada Lovelace",
        }
    ]
    (first_identity,) = _published("identity.linked")
    assert first_identity["user_id"] == str(grace.pk)
    assert first_identity["provider"] == "google"

    pair = signed_up(client)
    linking = link_google(
        client, rsps, pair["access"], email="someone-else@gmail.example", sub="another-google-account"
    )
    assert linking.status_code == 200, linking.content
    (_, linked) = _published("identity.linked")
    client.delete(f"/users/me/identities/{linked['identity_id']}", headers=bearer(pair["access"]))
    assert _published("identity.unlinked") == [linked]  # the same user, identity and provider
    assert len(_published("user.created")) == 2  # and the password sign-up


def test_with_the_immediate_backend_a_delivery_waits_for_the_commit(ada, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        session_start(user=ada)
        assert receiver.received == []  # inside the transaction nothing has left
    assert len(callbacks) == 1
    assert receiver.types() == ["session.started"]
    assert WebhookMessage.objects.get().delivered_at is not None


@pytest.mark.django_db
def test_webhooks_prune_deletes_only_old_messages_that_are_done(ada, receiver, time_machine):
    time_machine.move_to(START, tick=False)
    session_start(user=ada)
    session_start(user=ada)
    WebhookMessage.objects.filter(pk=WebhookMessage.objects.order_by("id").first().pk).update(delivered_at=START)
    time_machine.move_to(START + timedelta(days=8), tick=False)
    session_start(user=ada)
    WebhookMessage.objects.filter(created_at__gt=START).update(delivered_at=START + timedelta(days=8))

    call_command("webhooks_prune", verbosity=0)

    remaining = WebhookMessage.objects.order_by("id")
    assert [(message.created_at, message.delivered_at is None) for message in remaining] == [
        (START, True),  # still waiting: kept, however old
        (START + timedelta(days=8), False),  # delivered but recent
    ]


# --- their own queue --------------------------------------------------------------------------


def _readiness_queues(client) -> dict:
    tasks = client.get("/health/ready").json()["tasks"]
    return {"all": tasks["oldest_unsent_age_s"], **tasks["queues"]}


@pytest.mark.django_db(transaction=True)
def test_a_code_email_leaves_while_a_webhook_delivery_hangs_and_readiness_shows_the_waiting_queue(
    client, ada, queued, receiver
):
    receiver.hang.set()
    sign_in(client)  # a webhook delivery, which would hold a worker until WEBHOOKS_DELIVERY_DEADLINE
    assert client.post("/auth/email/code", json={"email": "ada@example.com"}).status_code == 202

    # The default queue's worker alone, as a deployment that never started the webhooks one.
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "default", verbosity=0)

    assert [email.to for email in mail.outbox if "code" in email.subject.lower()] == [["ada@example.com"]]
    assert not receiver.received
    assert waiting_tasks() == 1
    ages = _readiness_queues(client)
    assert ages["default"] is None
    assert ages["all"] == ages["webhooks"] >= 0
