"""What both failover tests share: skipping without the binaries, token pairs, and refresh and logout traffic.

The traffic is a few clients, each working through sessions: refresh a few times, then log
out, then the next session; a 503 is retried with the same token (the answer a client gets
while the database or Redis fails over). It records what the service acknowledged (each
200 rotation, each 204 logout) for the test to look for afterwards, and when it answered.
"""

import base64
import json
import os
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.faults.servers import START_WAIT_SECONDS, Gunicorn, wait_until

CLIENTS = 6
REFRESHES_PER_SESSION = 4
# More than the clients get through in a run on a busy machine; a client's last one is refreshed to the end.
SESSIONS = 120
# A deadline to fail rather than hang: how long the service may take to answer normally again. Not a measurement.
RECOVERY_DEADLINE_SECONDS = START_WAIT_SECONDS
RETRY_PAUSE_SECONDS = 0.05
# Traffic before the failover, so that it strikes requests in flight, and after it, on the new primary: until
# every client has had this many answers, a whole session's refreshes and its logout.
WARM_UP_ANSWERS = REFRESHES_PER_SESSION + 1
# Rows of a refresh token with two successors: none may exist, whatever a failover interrupted.
SUCCESSORS_OF_ANY_TOKEN = (
    "SELECT rotated_from_id FROM tokens_refreshtoken WHERE rotated_from_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1"
)


def require(present: bool, what: str) -> None:
    """Skips the test without `what`, and fails it under CI, which must run it."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the failover tests need {what}; CI must run them", pytrace=False)
    pytest.skip(f"needs {what}")


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def issue_pairs(server: Gunicorn, count: int) -> list[dict[str, str]]:
    """`count` token pairs, each of a new session of a new user, issued by one manage.py run."""
    code = (
        "import json, uuid; from dataclasses import asdict; from tokens.services import token_pair_for_email; "
        "print(json.dumps([asdict(token_pair_for_email(email=uuid.uuid4().hex + '@example.com', create=True)) "
        f"for _ in range({count})]))"
    )
    return json.loads(server.manage("shell", "-c", code).splitlines()[-1])


@dataclass
class Traffic:
    server: Gunicorn
    sessions: "queue.Queue[dict[str, str]]"
    rotations: dict[str, str] = field(default_factory=dict)  # acknowledged: presented jti -> successor's jti
    logouts: list[str] = field(default_factory=list)  # acknowledged: session ids
    access: dict[str, str] = field(default_factory=dict)  # session id -> its latest access token
    statuses: Counter = field(default_factory=Counter)
    # Per client, the time.monotonic() of each acknowledged answer.
    answered_at: list[list[float]] = field(default_factory=lambda: [[] for _ in range(CLIENTS)])
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(index,)) for index in range(CLIENTS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=START_WAIT_SECONDS)

    def _send(self, client: int, path: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Sends until acknowledged (a 503 or a broken connection is sent again); (status, body)."""
        while True:
            try:
                status, answer = self.server.request("POST", path, body=body, timeout=30)
            except OSError:
                status, answer = 0, {}
            with self._lock:
                self.statuses[status] += 1
            if status in (200, 204):
                self.answered_at[client].append(time.monotonic())
                return status, answer
            if status not in (0, 503) or self.stop.is_set():
                return status, answer
            time.sleep(RETRY_PAUSE_SECONDS)

    def _client(self, index: int) -> None:
        while not self.stop.is_set():
            pair = self.sessions.get_nowait()
            # The queue's last sessions, one per client, are refreshed until the end, never logged out:
            # a client that ran out of sessions would stop before the test does.
            last = self.sessions.qsize() < CLIENTS
            session_id = claims(pair["access"])["sid"]
            self.access[session_id] = pair["access"]
            refresh, refreshed = pair["refresh"], 0
            while not self.stop.is_set() and (last or refreshed < REFRESHES_PER_SESSION):
                status, answer = self._send(index, "/api/auth/token/refresh", {"refresh": refresh})
                if status != 200:
                    return
                with self._lock:
                    self.rotations[claims(refresh)["jti"]] = claims(answer["refresh"])["jti"]
                refresh, self.access[session_id] = answer["refresh"], answer["access"]
                refreshed += 1
            if last or self._send(index, "/api/auth/logout", {"refresh": refresh})[0] != 204:
                return
            with self._lock:
                self.logouts.append(session_id)

    def warm_up(self, *, since: float = 0.0) -> None:
        """Waits until every client has had WARM_UP_ANSWERS acknowledged answers after `since`."""

        def warm() -> bool:
            assert all(thread.is_alive() for thread in self._threads), f"a client gave up: {self.statuses}"
            return all(sum(at > since for at in times) >= WARM_UP_ANSWERS for times in self.answered_at)

        wait_until(warm, f"every client answered {WARM_UP_ANSWERS} times")

    def wait_for_recovery(self, since: float) -> tuple[float, float]:
        """Waits until every client was acknowledged after `since`; (first answer, every client) in seconds after it."""
        give_up = time.monotonic() + RECOVERY_DEADLINE_SECONDS
        while True:
            after = [[at for at in times if at > since] for times in self.answered_at]
            if all(after):
                return min(min(times) for times in after) - since, max(min(times) for times in after) - since
            assert time.monotonic() < give_up, f"not every client was answered within {RECOVERY_DEADLINE_SECONDS} s"
            assert all(thread.is_alive() for thread in self._threads), f"a client gave up: {self.statuses}"
            time.sleep(0.05)


def report_recovery(failover: str, promoted: float, first: float, every: float, traffic: Traffic) -> None:
    """Prints the measured recovery (with -s): docs/operations.md quotes it; no test asserts a time."""
    print(  # noqa: T201
        f"\n{failover} failover: new primary writable {promoted:.2f} s after the old one died; "
        f"first acknowledged answer {first:.2f} s after that, "
        f"every client {every:.2f} s; answers {dict(traffic.statuses)}"
    )


def assert_ended_sessions_refused(server: Gunicorn, traffic: Traffic, ended: set[str]) -> None:
    """Every ended session's last access token is refused, asked on new connections so that every worker answers."""
    assert ended
    for session_id in ended:
        for _ in range(4):
            status, body = server.request("GET", "/api/auth/whoami", token=traffic.access[session_id])
            assert (status, body.get("code")) == (401, "token_revoked"), (session_id, status, body)
