"""The denylist mirror (tokens/mirror.py) against real Redis servers and a second process.

Each test starts its own redis-server on a free port (so that stopping or pausing it touches
no one else) and turns the mirror on in this process. Waiting is bounded polling for a state
(the mirror current, a revocation seen), never an assertion on how long it took.
"""

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import time_machine
from django.db import connection
from django.utils import timezone

from core.cache import default_cache
from tests.api.test_token_api import count_cache_reads
from tests.conftest import bearer, closed_port
from tokens import denylist
from tokens.denylist import denylist_mirror
from tokens.mirror import PUBLICATIONS, REGISTERED_FOR, REGISTRY, STALE_AFTER, DenylistMirror, publisher_counters
from tokens.models import Session
from tokens.services import session_end

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0 (CI does)"
    ),
    pytest.mark.skipif(not Path(REDIS_SERVER).is_absolute(), reason="needs the redis-server binary"),
]

ROOT = Path(__file__).resolve().parents[2]
KEY_PREFIX = "mirror-test"
WAIT = 15.0  # bound on every wait for a state; generous, the machine is shared


class OwnRedis:
    """A redis-server of this test's own on a free loopback port, without persistence."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = closed_port()
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp_path,
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: self._answers(), "redis-server to answer")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.signal(signal.SIGCONT) if server.process else None
    server.stop()


@pytest.fixture
def mirror(settings, own_redis, transactional_db) -> DenylistMirror:
    """This process's mirror, on the test's own Redis, current."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.JWT_DENYLIST_MIRROR = True
    denylist.denylist_mark_complete()
    process_mirror = denylist_mirror()
    assert process_mirror is not None
    wait_for(process_mirror.is_current, "the mirror to load")
    yield process_mirror
    process_mirror.stop()


def test_whoami_answers_from_the_mirror_with_no_cache_read_and_no_query(
    client, pair, mirror, monkeypatch, django_assert_num_queries
):
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200  # loads the key set
    with monkeypatch.context() as patch, django_assert_num_queries(0):
        reads = count_cache_reads(patch)
        assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert reads == []
    assert mirror.counters.answered == 2
    assert mirror.counters.fell_back == 0


def test_a_session_ended_here_is_refused_by_the_mirror_before_the_logout_answers(client, pair, mirror, monkeypatch):
    assert client.post("/auth/logout", headers=bearer(pair.access)).status_code == 204
    # No waiting: the ending process applies the revocation to its own mirror first.
    assert mirror.is_denied(str(session_of(pair))) is True
    with monkeypatch.context() as patch:
        reads = count_cache_reads(patch)
        response = client.get("/auth/whoami", headers=bearer(pair.access))
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    assert reads == []


@pytest.mark.concurrent_db  # the second mirror loads from the test database in a thread of its own
def test_a_revocation_returns_once_every_other_registered_mirror_has_acknowledged_it(pair, mirror):
    # Another process's, as far as Redis can tell.
    other = DenylistMirror(ensure_complete=lambda server_changed_since: None)
    other.start()
    try:
        wait_for(other.is_current, "the second mirror to load")
        # A publisher waits for the mirrors registered when it publishes; the second registers at its next PING.
        backend = default_cache()
        client = backend._cache.get_client(write=True)
        wait_for(lambda: _registered(client, backend, other.id), "the second mirror to register")
        before = dataclasses.replace(publisher_counters)
        session_end(session_id=session_of(pair))
        # No waiting here: the call returned after the other mirror applied it.
        assert other.is_denied(str(session_of(pair))) is True
        # It waited for the other one, not for this process's own, and was not left waiting out the bound:
        # the other acknowledged, on hearing the message or, had it reloaded meanwhile, on loading the snapshot.
        assert publisher_counters.waited_for == before.waited_for + 1
        assert publisher_counters.unacknowledged == before.unacknowledged
        # (Its counter moves just after its acknowledgement reached Redis, so possibly after the call returned.)
        wait_for(lambda: other.counters.acknowledged >= 1, "the second mirror's counter")
    finally:
        other.stop()


@pytest.mark.concurrent_db  # the publisher waits in a thread of its own, with a connection of its own
def test_a_mirror_that_reloads_instead_of_hearing_a_revocation_acknowledges_it_from_the_snapshot(pair, mirror):
    """A mirror registered when the revocation was published, whose subscription was lost with the message in it:
    it loads the snapshot, which holds the entry, and acknowledges the publication it missed."""
    backend = default_cache()
    client = backend._cache.get_client(write=True)
    missed = DenylistMirror(
        ensure_complete=lambda server_changed_since: None
    )  # registered, but never subscribed: it hears nothing
    missed._register(missed._backend)
    before = dataclasses.replace(publisher_counters)
    with ThreadPoolExecutor(1) as pool:
        ending = pool.submit(lambda: (session_end(session_id=session_of(pair)), connection.close()))
        wait_for(lambda: client.zcard(backend.make_and_validate_key(PUBLICATIONS)) > 0, "the publication")
        missed._load(missed._backend, proven_at=time.monotonic())
        ending.result()
    assert missed.is_denied(str(session_of(pair))) is True
    assert missed.counters.acknowledged == 1
    assert publisher_counters.waited_for >= before.waited_for + 1
    assert publisher_counters.unacknowledged == before.unacknowledged
    missed.stop(wait=False)


def test_a_registered_mirror_that_never_acknowledges_holds_the_revocation_to_the_bound(pair, mirror, caplog):
    backend = default_cache()
    client = backend._cache.get_client(write=True)
    seconds, microseconds = client.time()
    client.zadd(backend.make_and_validate_key(REGISTRY), {"a-hung-process": seconds + microseconds / 1e6})
    before = dataclasses.replace(publisher_counters)
    session_end(session_id=session_of(pair))
    assert publisher_counters.unacknowledged == before.unacknowledged + 1
    assert "1 mirror(s) did not acknowledge" in caplog.text
    # Its registration ages out: the next revocation does not wait for it.
    wait_for(lambda: not _registered(client, backend, "a-hung-process"), "the registration to age out")


def _registered(client, backend, mirror_id: str) -> bool:
    seconds, microseconds = client.time()
    score = client.zscore(backend.make_and_validate_key(REGISTRY), mirror_id)
    return score is not None and score >= seconds + microseconds / 1e6 - REGISTERED_FOR


@pytest.mark.concurrent_db
def test_a_session_ended_by_another_process_is_refused_by_this_ones_mirror(client, pair, mirror, own_redis):
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    database = connection.settings_dict
    scheme = {"postgresql": "postgresql", "mysql": "mysql"}[connection.vendor]
    env = {
        **os.environ,
        "DATABASE_URL": f"{scheme}://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": own_redis.url,
        "CACHE_KEY_PREFIX": KEY_PREFIX,
    }
    end_it = f"session_end(session_id=uuid.UUID('{session_of(pair)}'))"
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"import uuid; from tokens.services import session_end; {end_it}",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    answered_before = mirror.counters.answered
    wait_for(
        lambda: client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 401,
        "this process to refuse the token",
    )
    assert mirror.counters.answered > answered_before
    assert mirror.counters.fell_back == 0


def test_after_a_redis_restart_the_mirror_resyncs_and_sees_a_session_ended_while_redis_was_down(
    client, pair, mirror, own_redis, caplog
):
    own_redis.stop()
    wait_for(lambda: not mirror.is_current(), "the mirror to notice")
    # Fails closed meanwhile: the check reads Redis directly, which answers nothing.
    response = client.get("/auth/whoami", headers=bearer(pair.access))
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    assert mirror.counters.fell_back >= 1
    # Ended while Redis is down: the database has it, no Redis entry was written.
    Session.objects.filter(id=session_of(pair)).update(ended_at=timezone.now())
    own_redis.start()  # empty: no marker, no entries
    wait_for(mirror.is_current, "the mirror to resync")
    assert mirror.counters.lost >= 1
    assert mirror.counters.synced >= 2
    assert mirror.is_denied(str(session_of(pair))) is True
    response = client.get("/auth/whoami", headers=bearer(pair.access))
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


def test_a_hung_redis_makes_the_mirror_stale_and_checks_read_redis_directly(client, pair, mirror, own_redis, caplog):
    own_redis.signal(signal.SIGSTOP)
    # The bound: no PONG for STALE_AFTER seconds and the mirror stops answering.
    wait_for(lambda: not mirror.is_current(), f"the mirror to go stale (after {STALE_AFTER} s)")
    response = client.get("/auth/whoami", headers=bearer(pair.access))
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    assert mirror.counters.fell_back == 1
    own_redis.signal(signal.SIGCONT)
    wait_for(mirror.is_current, "the mirror to resync")
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert mirror.counters.fell_back == 1
    assert "denylist mirror lost" in caplog.text


def test_a_killed_subscription_is_counted_logged_and_resubscribed(client, pair, mirror, own_redis, caplog):
    synced = mirror.counters.synced
    killed = redis.Redis(port=own_redis.port).client_kill_filter(_type="pubsub")
    assert killed == 1
    wait_for(lambda: mirror.counters.synced > synced, "the mirror to resubscribe and reload")
    assert mirror.counters.lost == 1
    assert "denylist mirror lost" in caplog.text
    # A revocation after the resubscription still arrives.
    session_end(session_id=session_of(pair))
    wait_for(lambda: mirror.is_denied(str(session_of(pair))), "the revocation to reach the mirror")


def test_mirror_entries_expire_with_the_access_token_lifetime(pair, mirror, settings):
    session_id = session_of(pair)
    session_end(session_id=session_id)
    wait_for(lambda: mirror.is_denied(str(session_id)), "the revocation to reach the mirror")
    lifetime = timedelta(seconds=settings.JWT_ACCESS_TTL + settings.JWT_LEEWAY)
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=1), tick=False):
        assert mirror.is_denied(str(session_id)) is False
        # The thread drops what has expired at its next ping: the mirror stays bounded.
        wait_for(lambda: str(session_id) not in mirror._entries, "the expired entry to be dropped")


def session_of(pair) -> uuid.UUID:
    from tokens.backend import TokenType, decode

    return uuid.UUID(decode(pair.access, token_type=TokenType.ACCESS)["sid"])
