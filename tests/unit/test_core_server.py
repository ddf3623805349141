"""The production server, gunicorn with gunicorn.conf.py: system check errors stop it from starting."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def gunicorn(port: int, **env: str) -> subprocess.Popen:
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SECRET_KEY"}
    return subprocess.Popen(
        [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
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


def test_gunicorn_refuses_to_start_on_the_default_secret_key():
    server = gunicorn(free_port())
    _, stderr = server.communicate(timeout=60)
    assert server.returncode != 0
    # config/settings.py refuses before any check runs (core/secret_keys.py).
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is missing or the development default" in stderr


def test_gunicorn_starts_and_serves_with_a_real_secret_key():
    port = free_port()
    server = gunicorn(port, DJANGO_SECRET_KEY="a-real-secret-for-this-test-" * 3)
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
