"""Revocation across processes (`make bench`, tools/bench/run.py): is a logout immediate everywhere, at what cost?

Two servers (separate gunicorn masters, 2 workers each) share PostgreSQL and Redis. For each
session: whoami on both (each process has verified and remembered the token), logout on one,
then whoami on the other and on the one that ended it, each on its own keep-alive connection.
Counted: whoami answers 200 after the logout's 204 (the goal is 0). Timed: the logout, with
the mirror on (the default: the ending process waits for every mirror's acknowledgement)
against the mirror off (every check reads Redis: nothing to wait for), on the same machine in
the same minute; the difference is what immediate revocation adds.
"""

import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class KeepAlive:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method: str, path: str, token: str) -> int:
        self.connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
        response = self.connection.getresponse()
        response.read()
        return response.status


def issue_access_tokens(env: dict[str, str], count: int) -> list[str]:
    """Access tokens of `count` new sessions, 50 per new user (JWT_MAX_SESSIONS_PER_USER would end a user's
    oldest ones beyond 100), from one manage.py run."""
    code = (
        "import json, uuid; from core.models import User; from tokens.services import session_start; "
        "new_user = lambda: User.objects.create_user(email=f'revocation-{uuid.uuid4().hex}@example.com'); "
        f"users = [new_user() for _ in range(-(-{count} // 50))]; "
        f"print(json.dumps([session_start(user=users[i // 50], user_agent='bench').access for i in range({count})]))"
    )
    command = [sys.executable, "manage.py", "shell", "-c", code]
    out = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def logout_then_whoami(ports: tuple[int, int], tokens: list[str]) -> dict[str, Any]:
    clients = [KeepAlive(port) for port in ports]
    accepted = {"other_process": 0, "same_process": 0}
    logout_ms: list[float] = []
    for index, token in enumerate(tokens):
        ending, other = (clients[0], clients[1]) if index % 2 == 0 else (clients[1], clients[0])
        for client in (ending, other):
            if client.send("GET", "/api/auth/whoami", token) != 200:
                raise RuntimeError("whoami refused a live session")
        started = time.perf_counter()
        status = ending.send("POST", "/api/auth/logout", token)
        logout_ms.append((time.perf_counter() - started) * 1000)
        if status != 204:
            raise RuntimeError(f"logout answered {status}")
        for where, client in (("other_process", other), ("same_process", ending)):
            status = client.send("GET", "/api/auth/whoami", token)
            if status == 200:
                accepted[where] += 1
            elif status != 401:
                raise RuntimeError(f"whoami after logout answered {status}")
    for client in clients:
        client.connection.close()  # idle keep-alive connections would hold the servers' graceful stop
    ordered = sorted(logout_ms)
    return {
        "pairs": len(tokens),
        "accepted_after_204": accepted,
        "logout_ms_p50": round(statistics.median(ordered), 2),
        "logout_ms_p99": round(ordered[int(len(ordered) * 0.99) - 1], 2),
    }


def measure(base_env: dict[str, str], server: Callable[[dict[str, str]], Any], *, pairs: int) -> dict[str, Any]:
    """Accepted-after-204 over `pairs` sessions with the mirror on; the logout's cost on and off."""
    results: dict[str, Any] = {}
    for label, mirror in (("mirror_on", "1"), ("mirror_off", "0")):
        env = {**base_env, "JWT_SESSION_DENYLIST": "1", "JWT_DENYLIST_MIRROR": mirror}
        count = pairs if mirror == "1" else max(200, pairs // 4)  # off: the latency baseline only
        tokens = issue_access_tokens(env, count)
        with ExitStack() as stack:
            first, second = (stack.enter_context(server(env)) for _ in range(2))
            results[label] = logout_then_whoami((first.port, second.port), tokens)
    on, off = results["mirror_on"], results["mirror_off"]
    results["logout_added_ms_p50"] = round(on["logout_ms_p50"] - off["logout_ms_p50"], 2)
    results["logout_added_ms_p99"] = round(on["logout_ms_p99"] - off["logout_ms_p99"], 2)
    return results
