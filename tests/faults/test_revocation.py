"""Ending a session is immediate in every process, and a restarted Redis costs one rebuild per process.

Two gunicorn servers (separate processes, one worker each) share the tests' own PostgreSQL
and Redis: a logout answered by one is followed by whoami on the other and on itself, on
keep-alive connections, as a client and its neighbours would. Counts, never times.
"""

import http.client
import json
import os
import re
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from tests.faults.servers import Gunicorn, wait_until

PAIRS = 1000
# pytest's environment turns the mirror off for the in-process tests; these servers run the default.
MIRROR_ON = {"JWT_DENYLIST_MIRROR": "1"}


class KeepAlive:
    """One keep-alive connection to a server, as a browser or an SDK holds one."""

    def __init__(self, server: Gunicorn) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)

    def send(self, method: str, path: str, token: str) -> tuple[int, dict]:
        self.connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
        response = self.connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}


def issue_sessions(server: Gunicorn, count: int) -> list[str]:
    """Access tokens of `count` new sessions, 50 per user (JWT_MAX_SESSIONS_PER_USER would end a user's oldest
    ones beyond 100), issued by one manage.py run."""
    code = (
        "import json, uuid; from core.models import User; from tokens.services import session_start; "
        "new_user = lambda: User.objects.create_user(email=uuid.uuid4().hex + '@example.com'); "
        f"users = [new_user() for _ in range(-(-{count} // 50))]; "
        f"print(json.dumps([session_start(user=users[i // 50], user_agent='fault').access for i in range({count})]))"
    )
    return json.loads(server.manage("shell", "-c", code).splitlines()[-1])


def test_no_process_accepts_a_logged_out_token_in_any_request_after_the_204(start_server):
    first, second = (start_server(workers=1, threads=4, live=False, **MIRROR_ON) for _ in range(2))
    tokens = issue_sessions(first, PAIRS)  # while both servers boot
    for server in (first, second):
        server.wait_until_live()
    clients = {server: KeepAlive(server) for server in (first, second)}
    accepted_after_204: Counter[str] = Counter()
    for index, token in enumerate(tokens):
        ending, other = (first, second) if index % 2 == 0 else (second, first)
        # Both processes have verified the token and remember it (the state the issue broke in).
        assert clients[ending].send("GET", "/api/auth/whoami", token)[0] == 200
        assert clients[other].send("GET", "/api/auth/whoami", token)[0] == 200
        assert clients[ending].send("POST", "/api/auth/logout", token)[0] == 204
        for where, server in (("other process", other), ("same process", ending)):
            status, body = clients[server].send("GET", "/api/auth/whoami", token)
            if status == 200:
                accepted_after_204[where] += 1
            else:
                assert (status, body["code"]) == (401, "token_revoked"), body
    assert accepted_after_204 == Counter()


def test_a_hung_process_delays_logout_to_the_bound_and_still_refuses_the_token_when_it_resumes(start_server):
    ending, hung = (start_server(workers=1, threads=4, live=False, **MIRROR_ON) for _ in range(2))
    (token,) = issue_sessions(ending, 1)  # while both servers boot
    for server in (ending, hung):
        server.wait_until_live()
    assert hung.request("GET", "/api/auth/whoami", token=token)[0] == 200
    (worker,) = hung.worker_pids()
    with paused(worker):
        # The hung worker's mirror cannot acknowledge: the logout answers once that mirror can no
        # longer answer from what it held (the bound), not before, and not never.
        assert ending.request("POST", "/api/auth/logout", token=token)[0] == 204
    assert "did not acknowledge" in ending.log.read_text()
    status, body = hung.request("GET", "/api/auth/whoami", token=token)
    assert (status, body["code"]) == (401, "token_revoked")


@contextmanager
def paused(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


REBUILT = re.compile(r"denylist rebuilt from the database by process (\d+)")


def test_a_redis_restart_under_load_costs_each_process_at_most_one_rebuild(start_server, stack):
    _, own_redis = stack
    server = start_server(workers=2, threads=4, live=False, **MIRROR_ON)
    live, ended = issue_sessions(server, 2)  # while the server boots
    server.wait_until_live()
    assert server.request("POST", "/api/auth/logout", token=ended)[0] == 204
    log_before = len(REBUILT.findall(server.log.read_text()))
    stop = threading.Event()
    answers: Counter[tuple[str, int]] = Counter()

    def load() -> None:
        clients = [KeepAlive(server) for _ in range(2)]
        while not stop.is_set():
            for client in clients:
                for name, token in (("live", live), ("ended", ended)):
                    try:
                        status, _ = client.send("GET", "/api/auth/whoami", token)
                    except OSError:
                        client.connection.close()
                        continue
                    answers[(name, status)] += 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: answers[("live", 200)] > 50, "whoami answering under load")
        own_redis.restart_empty()
        served_after_restart = answers[("live", 200)]
        # Under load until both workers' mirrors are back and many requests passed the new Redis.
        wait_until(lambda: len(REBUILT.findall(server.log.read_text())) > log_before, "a rebuild")
        wait_until(lambda: answers[("live", 200)] > served_after_restart + 500, "whoami answering again")
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    rebuilds = Counter(REBUILT.findall(server.log.read_text())[log_before:])
    assert sum(rebuilds.values()) >= 1  # the marker was gone: someone rebuilt
    assert all(count == 1 for count in rebuilds.values()), rebuilds  # and no process more than once
    assert set(rebuilds) <= {str(pid) for pid in server.worker_pids()}
    # Ended stays ended throughout (503 while Redis was away: fails closed), live ones recover.
    assert answers[("ended", 200)] == 0
    assert {status for name, status in answers if name == "ended"} <= {401, 503}
