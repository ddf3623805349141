"""The database bulkhead (core/bulkhead.py) under refresh load, with the tests' own PostgreSQL paused.

Before the bulkhead, refreshes waiting on a paused PostgreSQL took every worker thread and
whoami and liveness queued behind them until it resumed (issue 26). Asserted: the status of
each probe, answered within a client timeout that a request waiting on the paused database
could never meet (it waits until the test resumes it); never how long anything took.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.faults.servers import Gunicorn, Postgres, wait_until

REFRESHERS = 16
# Generous for an answer that does not wait on the database, on a busy machine; a request
# that does wait on it waits until the test resumes PostgreSQL, which is after these.
PROBE_TIMEOUT = 30
# What a request waiting on the paused database may take after the resume.
PAUSED_REQUEST_TIMEOUT = 120
# How long a refused client waits before its next refresh: sooner than the 503's Retry-After (5 s), as an
# impatient app would. Each refusal holds one of the two threads the bulkhead leaves free for its short wait
# for a permit; clients that retried at once kept a queue of them in front of every probe.
REFUSED_RETRY_PAUSE = 2.0


class Refresher:
    """A client rotating its own refresh token in a loop, as a busy app does; counts what it got."""

    def __init__(self, server: Gunicorn, refresh: str, stop: threading.Event) -> None:
        self.server = server
        self.refresh = refresh
        self.stop = stop
        self.answers: Counter[tuple[int, str | None]] = Counter()
        self.refusals: list[dict] = []
        self.in_flight = False

    @property
    def completed(self) -> int:
        return self.answers.total()

    def run(self) -> None:
        while not self.stop.is_set():
            self.in_flight = True
            status, body = self.server.request(
                "POST", "/api/auth/token/refresh", body={"refresh": self.refresh}, timeout=PAUSED_REQUEST_TIMEOUT
            )
            self.in_flight = False
            self.answers[(status, body.get("code"))] += 1
            if status == 200:
                self.refresh = body["refresh"]
            else:
                self.refusals.append(body)
                self.stop.wait(REFUSED_RETRY_PAUSE)


def test_refreshes_waiting_on_a_paused_postgres_leave_whoami_and_liveness_answering(start_server, stack, token_pairs):
    own_postgres, _ = stack
    # One worker of eight threads, as each of production's: at most six requests wait on the database. One,
    # because a second still booting when the database pauses cannot read the signing keys and answers 503
    # (fail closed; seen in CI), which is not what this test is about. The denylist mirror on (the suite turns
    # it off): without it a bearer check may need the database to rebuild a denylist another test emptied.
    server = start_server(workers=1, threads=8, JWT_DENYLIST_MIRROR="1")
    probe = next(token_pairs)
    assert server.request("GET", "/api/auth/whoami", token=probe["access"])[0] == 200
    stop = threading.Event()
    refreshers = [Refresher(server, next(token_pairs)["refresh"], stop) for _ in range(REFRESHERS)]

    with ThreadPoolExecutor(REFRESHERS) as pool:
        running = [pool.submit(refresher.run) for refresher in refreshers]
        try:
            probe_while_paused(server, own_postgres, refreshers, probe["access"])
        finally:
            stop.set()
        for future in running:
            future.result()  # the refreshes that waited complete after the resume

    answers = sum((r.answers for r in refreshers), Counter())
    # Nothing but rotations and the bulkhead's 503s: no 500, no lost or doubly rotated token.
    assert set(answers) <= {(200, None), (503, "service_unavailable")}, answers
    refusals = [body for r in refreshers for body in r.refusals]
    assert all(body["dependency"] == "database" and int(body["_retry_after"]) > 0 for body in refusals)
    # Recovered without a restart: every client's current token rotates, and readiness is back.
    for refresher in refreshers:
        status, body = server.request("POST", "/api/auth/token/refresh", body={"refresh": refresher.refresh})
        assert status == 200, body
    assert server.request("GET", "/api/health/ready")[0] == 200


def probe_while_paused(server: Gunicorn, own_postgres: Postgres, refreshers: list[Refresher], access: str) -> None:
    wait_until(lambda: all(r.answers[(200, None)] for r in refreshers), "every refresher rotating")

    with own_postgres.process.paused():
        # The bulkhead fills with refreshes waiting on the database; the rest are refused at once.
        wait_until(
            lambda: sum(r.answers[(503, "service_unavailable")] for r in refreshers) >= REFRESHERS,
            "refreshes refused by the full bulkhead",
        )
        before = [refresher.completed for refresher in refreshers]
        for _ in range(5):
            assert server.request("GET", "/api/auth/whoami", token=access, timeout=PROBE_TIMEOUT)[0] == 200
            assert server.request("GET", "/api/health/live", timeout=PROBE_TIMEOUT)[0] == 200
            assert server.request("HEAD", "/api/health/live", timeout=PROBE_TIMEOUT)[0] == 200
            verify = server.request("POST", "/api/auth/token/verify", body={"token": access}, timeout=PROBE_TIMEOUT)
            assert verify[0] == 200
        # The refreshes in flight through all the probes wait on the database: some, and
        # at most what the bulkhead admits (each worker's 8 threads less 2).
        waiting = [r.in_flight and r.completed == done for r, done in zip(refreshers, before, strict=True)]
        assert 1 <= sum(waiting) <= 6, waiting
