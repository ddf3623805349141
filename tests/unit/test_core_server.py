"""The production server, gunicorn with gunicorn.conf.py: system check errors stop it from starting, and
the body-read timeout is set only on requests that have a body."""

import os
import runpy
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.http import RequestParser

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def gunicorn(port: int, *, workers: int = 1, **env: str) -> subprocess.Popen:
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SECRET_KEY"}
    return subprocess.Popen(
        [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=ROOT,
        env={**environment, "DJANGO_DEBUG": "0", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow  # starts a process of its own
def test_gunicorn_refuses_to_start_on_the_default_secret_key():
    server = gunicorn(free_port())
    _, stderr = server.communicate(timeout=60)
    assert server.returncode != 0
    # config/settings.py refuses before any check runs (core/secret_keys.py).
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is missing or the development default" in stderr


@pytest.mark.slow  # starts processes of its own
def test_gunicorn_refuses_two_workers_on_a_cache_they_do_not_share(monkeypatch):
    # The review's deployment: no REDIS_URL, gunicorn's workers; each would keep its own denylist.
    monkeypatch.delenv("REDIS_URL", raising=False)
    for declared in ("0", "1"):
        server = gunicorn(
            free_port(), workers=2, DJANGO_SECRET_KEY="a-real-secret-for-this-test-" * 3, API_SINGLE_PROCESS=declared
        )
        _, stderr = server.communicate(timeout=60)
        assert server.returncode != 0
        if declared == "0":  # the system check already refuses a server that did not declare itself alone
            assert "core.E006" in stderr
        else:
            assert "Refusing to start 2 workers on a cache they do not share" in stderr


@pytest.mark.slow  # starts a process of its own
def test_gunicorn_starts_and_serves_with_a_real_secret_key(tmp_path):
    production = {
        "DJANGO_SECRET_KEY": "a-real-secret-for-this-test-" * 3,
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        # Migrated first: gunicorn refuses to start on a database with migrations pending.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_DEBUG": "0", **production},
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = gunicorn(port, **production)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/live", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.communicate(timeout=10)


def pre_request_on(raw: bytes) -> socket.socket:
    """The server's end of a connection after gunicorn.conf.py's pre_request hook saw `raw`'s request."""
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    server_end, client_end = socket.socketpair()
    with client_end:
        client_end.sendall(raw)
        request = next(RequestParser(Config(), server_end, ("127.0.0.1", 50000)))
    hooks["pre_request"](None, request)
    return server_end


def test_a_request_with_a_body_reads_it_under_the_body_timeout():
    raw = b"POST /api/auth/token/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
    with pre_request_on(raw) as sock:
        assert sock.gettimeout() == 10.0  # GUNICORN_BODY_READ_TIMEOUT's default


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /api/auth/whoami HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/auth/logout HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["no body", "empty body"],
)
def test_a_request_without_a_body_keeps_its_socket_blocking(raw):
    # Nothing is left to read; a timeout would cost a poll() per read and write (gunicorn.conf.py).
    with pre_request_on(raw) as sock:
        assert sock.gettimeout() is None
