"""gunicorn (gunicorn.conf.py) starting and stopping: refused on an unmigrated database, a clean SIGTERM.

Asserted: exit statuses, what each client connection sees (a clean end of stream, never a
reset; `Connection: close` on the answer to a request in flight) and in which order; never
how long anything took (docs/operations.md has the measured times).
"""

import http.client
import os
import signal
import socket

import psycopg
import pytest

from tests.faults.servers import Gunicorn

IDLE_CONNECTIONS = 24
# Bounds on waiting, so that a bug fails the test instead of hanging it; never asserted on.
WAIT_SECONDS = 60


def test_the_server_refuses_to_start_on_a_database_with_migrations_pending(stack_env, stack, tmp_path):
    own_postgres, _ = stack
    with psycopg.connect(own_postgres.url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS unmigrated")
        admin.execute("CREATE DATABASE unmigrated")
    env = {**stack_env, "DATABASE_URL": own_postgres.url.rsplit("/", 1)[0] + "/unmigrated"}
    server = Gunicorn(env, log=tmp_path / "log")
    try:
        with pytest.raises(RuntimeError, match="exited with 1"):
            server.start()
    finally:
        server.stop()
    log = (tmp_path / "log").read_text()
    assert "not applied to the database" in log
    assert "python manage.py migrate" in log

    server.manage("migrate", "--noinput")
    server.start()  # the same server, once migrated
    try:
        assert server.request("GET", "/api/health/ready")[0] == 200
    finally:
        server.stop()


def test_sigterm_closes_idle_connections_cleanly_and_answers_the_request_in_flight_with_close(
    start_server, stack, token_pairs
):
    own_postgres, _ = stack
    pair = next(token_pairs)
    # One worker: the liveness answer below comes from the worker that holds the request in
    # flight. A new connection waits for a paused PostgreSQL too, so that request waits
    # whichever thread takes it.
    server = start_server(workers=1, threads=8, DATABASE_CONNECT_TIMEOUT="300")
    idle = [kept_alive(server) for _ in range(IDLE_CONNECTIONS)]

    with own_postgres.process.paused():
        in_flight = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_SECONDS)
        in_flight.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {pair['access']}"})
        server.request("GET", "/api/health/live")  # behind it: the request above has reached a thread
        assert server.popen is not None
        os.kill(server.popen.pid, signal.SIGTERM)  # the master, as systemd's stop sends it

        # Each idle connection ends with a FIN (a read returns b""), not a reset, while the
        # request in flight still waits on the database.
        assert [end_of(sock) for sock in idle] == [b""] * IDLE_CONNECTIONS
        assert server.popen.poll() is None

    answer = in_flight.getresponse()
    assert (answer.status, answer.getheader("Connection")) == (200, "close")
    assert answer.read()
    # The master exits once that answer is out, and cleanly.
    assert server.popen.wait(timeout=WAIT_SECONDS) == 0


def kept_alive(server: Gunicorn) -> socket.socket:
    """A connection that has had one answer and stays open for the next request, as a client's pool keeps it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_SECONDS)
    connection.request("GET", "/api/health/live")
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("Connection")) == (200, "keep-alive")
    answer.read()
    assert connection.sock is not None
    return connection.sock


def end_of(sock: socket.socket) -> bytes:
    """What the server sends next on a connection it closes: b"" for a FIN; a reset raises."""
    return sock.recv(1)
