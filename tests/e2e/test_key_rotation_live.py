"""Rotation on a fleet: two live gunicorn servers on one database, and a verifier elsewhere.

Nothing is patched: the servers are separate processes with production settings (DEBUG off,
keys in the database), `manage.py` commands rotate and issue tokens in their own processes,
and examples/verify_elsewhere.py verifies through the published JWKS as another service would.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# Every URL here is a loopback server this test started.
# ruff: noqa: S310

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AUDIENCE = "auth-backend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def kid_of(token: str) -> str:
    import jwt

    return jwt.get_unverified_header(token)["kid"]


class Fleet:
    """The environment every process of the deployment shares, and its servers."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.issuer_port = free_port()
        environment = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "JWT_"))}
        self.env = {
            **environment,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # the fleet talks plain HTTP on loopback
            "DJANGO_SECRET_KEY": "a-secret-key-for-the-rotation-test-only-0123456789",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.sqlite3'}",
            "JWT_ALGORITHM": "ES256",
            "JWT_ISSUER": f"http://127.0.0.1:{self.issuer_port}",
            "JWT_AUDIENCE": AUDIENCE,
            "JWT_KEY_ENCRYPTION_KEYS": "bW_SgpDFTJBZZVi-9OlhvXBRkpThA-FMR9bSb6x-8Lg=",  # debug off: keys encrypted
            "LOG_LEVEL": "WARNING",
        }
        self.env.pop("REDIS_URL", None)  # each server's own memory: only the database is shared here
        self.servers: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def rotate(self, *args: str) -> dict:
        return json.loads(self.manage("rotate_signing_key", *args))

    def issue(self) -> dict:
        return json.loads(self.manage("issue_tokens", "--email", "ada@example.com", "--create"))

    def start(self, *ports: int) -> list[str]:
        """A server on each port, booting side by side; their URLs once each answers."""
        for port in ports:
            log = (self.tmp_path / f"gunicorn-{port}.log").open("w")
            server = subprocess.Popen(
                [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.servers.append(server)
        deadline = time.monotonic() + 60
        for port, server in zip(ports, self.servers[-len(ports) :], strict=True):
            url = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if get(f"{url}/api/health/live")[0] == 200:
                        break
                except OSError:
                    assert server.poll() is None, (self.tmp_path / f"gunicorn-{port}.log").read_text()
                    assert time.monotonic() < deadline, "gunicorn did not answer in 60 s"
                    time.sleep(0.05)
        return [f"http://127.0.0.1:{port}" for port in ports]

    def stop(self) -> None:
        for server in self.servers:
            server.terminate()
            server.wait(timeout=20)

    def verify_elsewhere(self, token: str) -> subprocess.CompletedProcess:
        # Run from outside the project folder, so it could not import the project if it tried.
        return subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "verify_elsewhere.py"),
                *("--issuer", self.env["JWT_ISSUER"], "--audience", AUDIENCE),
                token,
            ],
            cwd=self.tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def fleet(tmp_path):
    fleet = Fleet(tmp_path)
    fleet.manage("migrate", "--noinput", "-v0")
    yield fleet
    fleet.stop()


def test_a_rotation_reaches_a_second_live_server_and_a_verifier_elsewhere_and_logs_nobody_out(fleet):
    first = fleet.rotate()  # the deployment's first key: ES256
    server_a, server_b = fleet.start(fleet.issuer_port, free_port())
    before = fleet.issue()
    assert kid_of(before["access"]) == first["kid"]
    for server in (server_a, server_b):
        assert get(f"{server}/api/auth/whoami", before["access"])[0] == 200
    verified = fleet.verify_elsewhere(before["access"])
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["sub"] == str(get(f"{server_a}/api/auth/whoami", before["access"])[1]["user_id"])

    # Rotate on "another host" (a separate process); neither server restarts. --now: the new key signs
    # at once, before the servers' background re-reads could have published it to them
    # (tests/api/test_rotation_verifiers.py covers the usual publish-ahead rotation).
    second = fleet.rotate("--algorithm", "EdDSA", "--now")
    assert [key["kid"] for key in second["retired"]] == [first["kid"]]
    after = fleet.issue()
    assert kid_of(after["access"]) == second["kid"]
    # Server B had read the set before the rotation: the new kid makes it re-read at once.
    assert get(f"{server_b}/api/auth/whoami", after["access"])[0] == 200
    assert get(f"{server_a}/api/auth/whoami", after["access"])[0] == 200
    # Tokens signed before the rotation keep working: nobody is logged out.
    assert get(f"{server_b}/api/auth/whoami", before["access"])[0] == 200
    status, refreshed = post(f"{server_b}/api/auth/token/refresh", {"refresh": before["refresh"]})
    assert status == 200
    assert kid_of(refreshed["access"]) == second["kid"]  # and server B now signs with the new key
    assert {key["kid"] for key in get(f"{server_b}/.well-known/jwks.json")[1]["keys"]} == {first["kid"], second["kid"]}
    for token in (before["access"], after["access"], refreshed["access"]):
        verified = fleet.verify_elsewhere(token)
        assert verified.returncode == 0, verified.stderr

    # A key removed at once (as for a leak): its tokens fail on the server that verified them before,
    # as soon as that server re-reads the set (here: on the next new kid it sees).
    third = fleet.rotate("--now", "--retire-after", "0")
    assert third["deleted"] == [second["kid"]]
    newest = fleet.issue()
    assert get(f"{server_b}/api/auth/whoami", newest["access"])[0] == 200
    status, problem = get(f"{server_b}/api/auth/whoami", after["access"])
    assert (status, problem["code"]) == (401, "token_invalid")
    # The JWKS drops the key once the server's key-set thread has re-read the rows (a JWKS request asks it to).
    deadline = time.monotonic() + 30
    while second["kid"] in {key["kid"] for key in get(f"{server_a}/.well-known/jwks.json")[1]["keys"]}:
        assert time.monotonic() < deadline, "the JWKS still lists the deleted key"
        time.sleep(0.05)
    refused = fleet.verify_elsewhere(after["access"])
    assert refused.returncode == 1
    assert "refused" in refused.stderr
    # The first key still verifies until its own end.
    assert get(f"{server_b}/api/auth/whoami", before["access"])[0] == 200
