"""`make load`: mixed traffic against a real gunicorn, then a check that the data adds up.

Virtual users (one thread each, --concurrency of them, for --duration seconds) each sign in
through the development identity provider the way a browser does (authorize, the provider's
page and its form, the callback), then call whoami, refresh and now and then log out (and
check that the logged-out access token is refused) or present an already rotated refresh
token on purpose (reuse, which must end that session). Each user keeps to its own session,
so no reuse ever happens by accident.

The server is gunicorn with the project's gunicorn.conf.py, in debug mode (the development
identity provider refuses to run otherwise) with every limit raised far above the traffic
so that the throttles count without refusing. SQLite runs with the local-memory cache and so
one worker process (a login begun in one process must be found by the next); with
--database-url postgresql://... and --redis-url, the configuration's own number of workers.

Afterwards: throughput, p50/p99 per operation, errors; then the database: no refresh token
with two successors, the sessions ended for reuse are exactly those reused on purpose, and
the row counts equal what the users did. The event log (the server's stderr) must count
the same sign-ins, refreshes, reuses and logouts. Exit status 1 on any error or mismatch.

The database is emptied first (SQLite: a new file; PostgreSQL: `flush` of the database
given, created if missing): never point it at one you want to keep. The cache keys get a
prefix of their own, so a shared Redis database is not cleared.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from base64 import urlsafe_b64decode
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from run import ensure_postgres_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What a user does next while signed in; sign-in happens whenever it is signed out.
WEIGHTS = {"whoami": 70, "refresh": 22, "logout": 5, "reuse": 3}
# Far above any traffic here, so that the throttles count every request and refuse none.
UNLIMITED = "1000000/min"


@dataclass
class Tally:
    """What the users did and saw, shared by their threads (under `lock`)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    done: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    shed: Counter = field(default_factory=Counter)
    users_signed_in: set[str] = field(default_factory=set)
    reused_sessions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies[operation].append(seconds)
            if error:
                self.errors.append(f"{operation}: {error}")
            else:
                self.done[operation] += 1

    def record_shed(self, operation: str) -> None:
        with self.lock:
            self.shed[operation] += 1


class Unexpected(Exception):
    pass


class Shed(Unexpected):
    """503 with Retry-After: the server turned the request away on purpose (a bulkhead), to be retried."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Browser:
    """One user's HTTP connection (kept alive) and cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, *, json_body=None, form=None, token=None, expect: int = 200):
        headers = {}
        body = None
        if json_body is not None:
            headers["Content-Type"], body = "application/json", json.dumps(json_body)
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnects on the next request
            raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.partition(";")[0]
        if response.status == 503 and (retry_after := response.getheader("Retry-After")):
            raise Shed(f"{method} {path.split('?')[0]} was shed", float(retry_after))
        if response.status != expect:
            raise Unexpected(f"{method} {path.split('?')[0]} answered {response.status}: {content[:160]!r}")
        return response, content


def session_id_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


class User:
    def __init__(self, index: int, port: int, base_url: str, tally: Tally) -> None:
        self.email = f"load-{index}@example.com"
        self.browser = Browser(port)
        self.redirect_uri = f"{base_url}/auth/callback/dev"
        self.tally = tally
        self.random = random.Random(index)  # noqa: S311 (a traffic mix, reproducible per user)
        self.pair: dict | None = None
        self.rotated: str | None = None  # the refresh token the last refresh replaced
        # Every kind of step early on, so that even a short run covers them all.
        self.opening = ["whoami", "refresh", "reuse", "refresh", "logout"]

    def step(self) -> None:
        if self.pair is None:
            self.timed("sign_in", self.sign_in)
            return
        if self.opening:
            operation = self.opening.pop(0)
        else:
            operation = self.random.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if operation == "reuse" and self.rotated is None:
            operation = "refresh"
        self.timed(operation, getattr(self, operation), self.pair)

    def timed(self, operation: str, action, *arguments) -> None:
        started = time.perf_counter()
        try:
            action(*arguments)
        except Shed as shed:
            # Not timed: turning a request away at once is not serving it. A client that is
            # told when to come back waits that long, as this one does.
            self.tally.record_shed(operation)
            self.pair = None
            time.sleep(shed.retry_after)
            self.browser.connection.close()  # the server has closed it meanwhile (keep-alive timeout)
        except (Unexpected, OSError, http.client.HTTPException, KeyError, ValueError) as exc:
            self.tally.record(operation, time.perf_counter() - started, error=str(exc) or exc.__class__.__name__)
            self.pair = None  # start again from a fresh sign-in
        else:
            self.tally.record(operation, time.perf_counter() - started)

    def sign_in(self) -> None:
        _, body = self.browser.send(
            "POST", "/api/auth/social/dev/authorize", json_body={"redirect_uri": self.redirect_uri}
        )
        start = json.loads(body)
        page = urlsplit(start["authorization_url"])
        provider_path = f"{page.path}?{page.query}"
        _, html = self.browser.send("GET", provider_path)
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if csrf is None:
            raise Unexpected("the provider's page has no CSRF token")
        form = {"csrfmiddlewaretoken": csrf[1].decode(), "email": self.email, "name": "Load", "email_verified": "on"}
        redirect, _ = self.browser.send("POST", provider_path, form=form, expect=302)
        back = {name: values[0] for name, values in parse_qs(urlsplit(redirect.headers["Location"]).query).items()}
        if back.get("state") != start["state"]:
            raise Unexpected(f"the provider came back with {back}")
        _, body = self.browser.send(
            "POST", "/api/auth/social/dev/callback", json_body={"code": back["code"], "state": back["state"]}
        )
        self.pair, self.rotated = json.loads(body), None
        with self.tally.lock:
            self.tally.users_signed_in.add(self.email)

    def whoami(self, pair: dict) -> None:
        self.browser.send("GET", "/api/auth/whoami", token=pair["access"])

    def refresh(self, pair: dict) -> None:
        presented = pair["refresh"]
        _, body = self.browser.send("POST", "/api/auth/token/refresh", json_body={"refresh": presented})
        self.pair, self.rotated = json.loads(body), presented

    def logout(self, pair: dict) -> None:
        access, self.pair = pair["access"], None
        self.browser.send("POST", "/api/auth/logout", token=access, expect=204)
        # Every worker must refuse the ended session's access token at once (the denylist).
        self.browser.send("GET", "/api/auth/whoami", token=access, expect=401)

    def reuse(self, pair: dict) -> None:
        assert self.rotated is not None
        session_id, self.pair = session_id_of(self.rotated), None
        with self.tally.lock:
            self.tally.reused_sessions.add(session_id)
        self.browser.send("POST", "/api/auth/token/refresh", json_body={"refresh": self.rotated}, expect=401)


def drive(*, port: int, base_url: str, concurrency: int, duration: float) -> tuple[Tally, float]:
    tally = Tally()
    deadline = time.monotonic() + duration

    def run_user(index: int) -> None:
        user = User(index, port, base_url, tally)
        # At least the opening steps, however slow the machine, so that a short run covers every kind of
        # step; a minute more at most, should a broken server keep it from ever getting through them.
        while time.monotonic() < deadline or (user.opening and time.monotonic() < deadline + 60):
            user.step()

    threads = [threading.Thread(target=run_user, args=(index,)) for index in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


def server_env(*, port: int, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "1",
        "SOCIAL_DEV_PROVIDER": "1",
        "SOCIAL_DEV_BASE_URL": f"http://127.0.0.1:{port}",
        "CACHE_KEY_PREFIX": f"load-{secrets.token_hex(4)}",
        "LOG_LEVEL": "WARNING",
        # Strict rotation: a replay the reuse interval would forgive is not the reuse this drives.
        "JWT_REFRESH_REUSE_INTERVAL": "0",
        **{f"API_THROTTLE_{scope}": UNLIMITED for scope in ("SIGN_IN", "SIGN_IN_PROVIDER", "TOKENS", "SESSION")},
    }
    env.pop("SOCIAL_REDIRECT_URIS", None)  # debug mode derives the sign-in page's callbacks from the base URL
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
        env["GUNICORN_WORKERS"] = "1"  # the local-memory cache is per process
    return env


def prepare_database(env: dict[str, str]) -> None:
    if env["DATABASE_URL"].startswith("postgres"):
        ensure_postgres_database(env["DATABASE_URL"])
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "flush", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def listening_socket() -> socket.socket:
    """A socket on a free port, handed to gunicorn as is: no other process can take the port in between."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def start_server(env: dict[str, str], listener: socket.socket, log: Path) -> subprocess.Popen:
    port, descriptor = listener.getsockname()[1], listener.fileno()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"fd://{descriptor}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            pass_fds=[descriptor],
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/api/health/live")
            live = connection.getresponse()
            live.read()
            if live.status == 200:
                # The provider's signing key is generated at its first use: not on the clock.
                connection.request("GET", "/dev-idp/jwks")
                connection.getresponse().read()
                return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("gunicorn did not answer /api/health/live within 60 s")


def data_check(env: dict[str, str], tally: Tally, events: Counter) -> dict[str, tuple[int, int]]:
    """Each check's (found, expected); the run is good when every pair is equal."""
    os.environ.update({name: env[name] for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_DEBUG")})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db.models import Count

    from core.models import User
    from social.models import SocialAccount
    from tokens.models import RefreshToken, Session, SessionEndReason

    done = tally.done
    sign_ins, refreshes, logouts, reuses = done["sign_in"], done["refresh"], done["logout"], done["reuse"]
    reused = {
        str(session_id)
        for session_id in Session.objects.filter(end_reason=SessionEndReason.REUSE).values_list("id", flat=True)
    }
    successors = RefreshToken.objects.filter(rotated_from__isnull=False).values("rotated_from")
    return {
        "refresh tokens with two successors": (successors.annotate(n=Count("jti")).filter(n__gt=1).count(), 0),
        "sessions ended for reuse that were not reused": (len(reused - tally.reused_sessions), 0),
        "sessions reused and not ended for reuse": (len(tally.reused_sessions - reused), 0),
        "sessions = sign-ins": (Session.objects.count(), sign_ins),
        "refresh tokens = sign-ins + refreshes": (RefreshToken.objects.count(), sign_ins + refreshes),
        "first tokens = sessions": (RefreshToken.objects.filter(rotated_from__isnull=True).count(), sign_ins),
        "sessions ended by logout = logouts": (
            Session.objects.filter(end_reason=SessionEndReason.LOGOUT).count(),
            logouts,
        ),
        "sessions ended by reuse = reuses": (len(reused), reuses),
        "live sessions = sign-ins - logouts - reuses": (
            Session.objects.filter(ended_at__isnull=True).count(),
            sign_ins - logouts - reuses,
        ),
        "users = users who signed in": (User.objects.count(), len(tally.users_signed_in)),
        "social accounts = users who signed in": (SocialAccount.objects.count(), len(tally.users_signed_in)),
        "sign_in events = sign-ins": (events["sign_in"], sign_ins),
        "refresh events = refreshes": (events["refresh"], refreshes),
        "reuse_detected events = reuses": (events["reuse_detected"], reuses),
        "logout events = logouts": (events["logout"], logouts),
    }


def event_counts(log: Path) -> Counter:
    counts: Counter = Counter()
    for line in log.read_text().splitlines():
        if line.startswith('{"time"'):
            counts[json.loads(line)["event"]] += 1
    return counts


def summary(tally: Tally, elapsed: float) -> dict:
    every = [seconds for latencies in tally.latencies.values() for seconds in latencies]

    def percentiles(latencies: list[float]) -> dict:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
        return {"count": len(latencies), "p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}

    return {
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(every) / elapsed, 1),
        "operations": {"all": percentiles(every)}
        | {operation: percentiles(latencies) for operation, latencies in sorted(tally.latencies.items())},
        "errors": len(tally.errors),
        "shed": dict(tally.shed),
        "first_errors": tally.errors[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16, help="virtual users, one thread each")
    parser.add_argument("--duration", type=float, default=30, help="seconds of traffic")
    parser.add_argument("--short", action="store_true", help="4 users for 1 second (what `make test` runs)")
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument("--redis-url", help="default: the local-memory cache, one worker")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    concurrency, duration = (4, 1.0) if args.short else (args.concurrency, args.duration)

    with tempfile.TemporaryDirectory(prefix="load-") as scratch, listening_socket() as listener:
        port = listener.getsockname()[1]
        database_url = args.database_url or f"sqlite:///{scratch}/load.sqlite3"
        env = server_env(port=port, database_url=database_url, redis_url=args.redis_url)
        prepare_database(env)
        log = Path(scratch) / "server.log"
        server = start_server(env, listener, log)
        try:
            tally, elapsed = drive(
                port=port, base_url=env["SOCIAL_DEV_BASE_URL"], concurrency=concurrency, duration=duration
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        results = summary(tally, elapsed)
        checks = data_check(env, tally, event_counts(log))
        server_errors = [line for line in log.read_text().splitlines() if "Error" in line][:20]

    results |= {
        "database": database_url.split(":", 1)[0],
        "cache": "redis" if args.redis_url else "local memory",
        "concurrency": concurrency,
        "checks": {name: {"found": found, "expected": expected} for name, (found, expected) in checks.items()},
    }
    print(f"{results['database']} + {results['cache']}: {concurrency} users for {results['seconds']} s")
    shed = sum(results["shed"].values())
    print(f"{results['requests_per_second']} requests/s, {results['errors']} errors, {shed} shed (503, retried)")
    print(f"{'operation':<10} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for operation, numbers in results["operations"].items():
        print(f"{operation:<10} {numbers['count']:>7} {numbers['p50_ms']:>8} {numbers['p99_ms']:>8}")
    for error in results["first_errors"]:
        print(f"error: {error}")
    if results["errors"]:
        print("the server's log says:", *server_errors, sep="\n  ")
    failed = [name for name, (found, expected) in checks.items() if found != expected]
    for name, (found, expected) in checks.items():
        print(f"{'FAIL' if name in failed else 'ok  '} {name}: {found} (expected {expected})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed or results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
