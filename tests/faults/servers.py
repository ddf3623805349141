"""Real processes to break: a loopback provider that hangs or trickles, PostgreSQL, Redis, gunicorn.

Each listens on a free port on 127.0.0.1 and lives in a temporary directory; faults are made
by pausing (SIGSTOP), stopping or killing these processes, never the machine's shared ones.
"""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from glob import glob
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
# Only how long to keep polling for a server to come up: never asserted on.
START_WAIT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], what: str, *, process: subprocess.Popen | None = None) -> None:
    give_up = time.monotonic() + START_WAIT_SECONDS
    while not check():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > give_up:
            raise RuntimeError(f"{what} did not happen within {START_WAIT_SECONDS} s")
        time.sleep(0.05)


# --- a provider that hangs or trickles -----------------------------------------------------


class SlowProvider:
    """A loopback HTTP server whose every answer is held or dribbled out.

    Modes: "hang" reads the request and answers nothing until `release` is set (then a 503);
    "trickle" sends a status line, then one byte every `interval` seconds until released;
    "slow" sends the JSON body `bodies[path]` in four parts, `interval` seconds apart.
    `arrived` counts requests in, so a test can wait until a sign-in is inside the provider;
    `paths` lists them.
    """

    SLOW_PARTS = 4

    def __init__(self, mode: str, *, interval: float = 1.0, bodies: dict[str, Any] | None = None) -> None:
        self.mode = mode
        self.interval = interval
        self.bodies = bodies or {}
        self.release = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.paths: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

            def _answer(self) -> None:
                path = self.path.split("?")[0]
                provider.paths.append(path)
                provider.arrived.release()
                with suppress(OSError):  # the client gave up: what the deadline is for
                    getattr(self, f"_{provider.mode}")(path)

            def _hang(self, path: str) -> None:
                provider.release.wait()
                self._send(503, b'{"error": "temporarily_unavailable"}')

            def _trickle(self, path: str) -> None:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while not provider.release.is_set():
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    provider.release.wait(provider.interval)

            def _slow(self, path: str) -> None:
                body = json.dumps(provider.bodies[path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                size = -(-len(body) // provider.SLOW_PARTS)
                for offset in range(0, len(body), size):
                    if offset:
                        provider.release.wait(provider.interval)
                    self.wfile.write(body[offset : offset + size])
                    self.wfile.flush()

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for_request(self) -> None:
        """Blocks until one more request has arrived (bounded, so that a test that broke elsewhere fails)."""
        assert self.arrived.acquire(timeout=START_WAIT_SECONDS), "no request reached the provider"

    def __enter__(self) -> "SlowProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# --- PostgreSQL and Redis of the test's own ------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def redis_server_bin() -> str | None:
    return shutil.which("redis-server")


class Process:
    """A server process the test owns: pause, resume, stop.

    Pausing stops the process and its children: PostgreSQL serves each connection from a
    child of the postmaster (in a session of its own), and a paused postmaster alone would
    still answer on the connections already open.
    """

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _children(self) -> list[int]:
        pids: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        return pids

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)  # first, so that it forks no child meanwhile
        for child in self._children():
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGSTOP)

    def resume(self) -> None:
        for child in self._children():
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGCONT)
        os.kill(self.pid, signal.SIGCONT)

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.resume()
            # SIGINT: PostgreSQL's fast shutdown (SIGTERM waits for every client to leave); Redis exits too.
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _run_as(user: str) -> dict[str, Any]:
    """subprocess arguments that drop root (initdb and postgres refuse to run as root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


class Postgres:
    """A PostgreSQL cluster in a temporary directory, run as `nobody` when the tests run as root.

    `standby_of`: a streaming standby of that (running) primary, copied by pg_basebackup -R,
    instead of a new cluster.
    """

    USER = "nobody"

    def __init__(self, *, standby_of: "Postgres | None" = None) -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.bindir = bindir
        # Not under pytest's tmp_path: its parents are private to the user running the tests.
        self.workdir = Path(tempfile.mkdtemp(prefix="faults-postgres-"))
        self.datadir = self.workdir / "pgdata"
        self.port = free_port()
        self.process: Process | None = None
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.USER)
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        if standby_of is None:
            command = [str(bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "--no-sync"]
        else:
            source = ["-h", "127.0.0.1", "-p", str(standby_of.port), "-U", "postgres"]
            command = [str(bindir / "pg_basebackup"), "-D", str(self.datadir), *source, "-R", "-X", "stream"]
        subprocess.run(command, check=True, capture_output=True, **_run_as(self.USER))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        popen = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.datadir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.datadir),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **_run_as(self.USER),
        )
        self.process = Process(popen)
        wait_until(self.accepts_connections, "PostgreSQL accepting connections", process=popen)

    def accepts_connections(self) -> bool:
        result = subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
        )
        return result.returncode == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def stop_immediately(self) -> None:
        """PostgreSQL's immediate shutdown (SIGQUIT): no checkpoint, every connection cut, as a crash."""
        assert self.process is not None
        self.process.popen.send_signal(signal.SIGQUIT)
        self.process.popen.wait(timeout=START_WAIT_SECONDS)

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Runs one statement in autocommit as the superuser; the rows, if it returns any."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Redis:
    """A Redis server without persistence; `args` are more of its command-line options (--replicaof ...)."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.args = args
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        popen = subprocess.Popen(
            [
                str(redis_server_bin()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.process = Process(popen)
        wait_until(self.answers, "Redis answering PING", process=popen)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def restart_empty(self) -> None:
        """A restart without persistence: every key is gone."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@contextmanager
def redis_of_its_own() -> Iterator[Redis]:
    """A Redis started for the caller and stopped after it; the test is skipped where redis-server is missing."""
    if redis_server_bin() is None:
        pytest.skip("needs redis-server: apt-get install redis-server")
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class RedisSentinel:
    """A Sentinel watching `primary` as the service `name`: redis-server --sentinel, with a config file of its own.

    Quick to act, as a test needs: the primary is down after DOWN_AFTER_MS without an answer.
    """

    DOWN_AFTER_MS = 1000

    def __init__(self, primary: Redis, *, name: str, quorum: int) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="faults-sentinel-"))
        config = self.workdir / "sentinel.conf"  # Sentinel rewrites it with what it learns
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {name} 127.0.0.1 {primary.port} {quorum}\n"
            f"sentinel down-after-milliseconds {name} {self.DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {name} 10000\n"
        )
        self.popen = subprocess.Popen(
            [str(redis_server_bin()), str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def remove(self) -> None:
        Process(self.popen).stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- gunicorn with the project's gunicorn.conf.py ------------------------------------------


class Gunicorn:
    """The production server, started from the project folder so that it reads gunicorn.conf.py."""

    def __init__(self, env: dict[str, str], *, log: Path, workers: int = 1, threads: int = 4) -> None:
        self.port = free_port()
        self.log = log
        self.env = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "PYTEST"))},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, as behind a TLS proxy
            "DJANGO_SECRET_KEY": "a-secret-key-for-the-fault-tests-" * 2,
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            **env,
        }
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.launch()
        self.wait_until_live()

    def launch(self) -> None:
        """Starts the server without waiting for it (wait_until_live): its boot overlaps the test's own set-up."""
        # Its own session, so that the test can end the master and every worker as a group.
        self.popen = subprocess.Popen(
            [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
            start_new_session=True,
        )

    def wait_until_live(self) -> None:
        assert self.popen is not None
        wait_until(self._live, "gunicorn serving /api/health/live", process=self.popen)

    def _live(self) -> bool:
        try:
            return self.request("GET", "/api/health/live", timeout=2)[0] == 200
        except OSError:
            return False

    def request(
        self, method: str, path: str, *, body: dict | None = None, token: str | None = None, timeout: float = 60
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body); the body also carries `_retry_after` when the response had that header."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
                raw, status, retry_after = response.read(), response.status, response.headers.get("Retry-After")
        except urllib.error.HTTPError as error:
            raw, status, retry_after = error.read(), error.code, error.headers.get("Retry-After")
        body = json.loads(raw) if raw else {}
        if retry_after is not None:
            body["_retry_after"] = retry_after
        return status, body

    def manage(self, *args: str) -> str:
        """A manage.py command against the same database and cache; its standard output."""
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def worker_pids(self) -> list[int]:
        assert self.popen is not None
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            self._kill_group()
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self._kill_group()

    def _kill_group(self) -> None:
        if self.popen is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
