"""Killing gunicorn's processes mid-rotation: no committed rotation lost, no half-rotated token.

A rotation is one statement, the insert of the successor (tokens.services.token_pair_refresh):
whatever moment a kill hits, the successor is in the database whole or not at all, and a
client that lost the answer retries within JWT_REFRESH_REUSE_INTERVAL and gets it. The tests
read the database directly to check.
"""

import base64
import itertools
import json
import os
import signal
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

from tests.faults.servers import wait_until

CLIENTS = 4


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def successors_of(db: psycopg.Connection, jti: str) -> int:
    row = db.execute(
        "SELECT count(*) FROM tokens_refreshtoken WHERE rotated_from_id = %s", (uuid.UUID(jti),)
    ).fetchone()
    assert row is not None
    return row[0]


def test_a_worker_killed_mid_rotation_leaves_it_whole_and_the_clients_retry_gets_it(server, stack, token_pairs):
    own_postgres, _ = stack
    pair = next(token_pairs)
    jti, session_id = claims(pair["refresh"])["jti"], claims(pair["refresh"])["sid"]

    with psycopg.connect(own_postgres.url, autocommit=True) as observer, psycopg.connect(own_postgres.url) as blocker:
        # An uncommitted successor of the same token: the worker's own insert waits on the
        # unique rotated_from until this transaction ends.
        blocker.execute(
            "INSERT INTO tokens_refreshtoken (jti, session_id, issued_at, expires_at, rotated_from_id)"
            " VALUES (%s, %s, now(), now() + interval '1 day', %s)",
            (uuid.uuid4(), uuid.UUID(session_id), uuid.UUID(jti)),
        )
        with ThreadPoolExecutor(1) as pool:
            refresh = pool.submit(server.request, "POST", "/api/auth/token/refresh", body={"refresh": pair["refresh"]})
            wait_until(lambda: waiting_on_a_lock(observer), "the worker's insert waiting on the lock")
            (worker,) = server.worker_pids()
            os.kill(worker, signal.SIGKILL)
            # The client's connection dies with the worker: no answer, never a half answer.
            try:
                status, _ = refresh.result()
            except OSError:
                status = None
            assert status is None
        blocker.rollback()
        wait_until(lambda: not waiting_on_a_lock(observer), "PostgreSQL finishing the killed worker's insert")
        # The insert is one statement: whole or absent, never half (here whole: it ran on
        # after the client was gone).
        assert successors_of(observer, jti) in (0, 1)
        committed = successors_of(observer, jti)

        # The client retries with the token it holds (a new worker answers): within the
        # reuse interval it gets the committed successor, or the rotation happens now.
        status, body = server.request("POST", "/api/auth/token/refresh", body={"refresh": pair["refresh"]})
        assert status == 200, body
        assert successors_of(observer, jti) == 1
        if committed:
            row = observer.execute(
                "SELECT jti FROM tokens_refreshtoken WHERE rotated_from_id = %s", (uuid.UUID(jti),)
            ).fetchone()
            assert row == (uuid.UUID(claims(body["refresh"])["jti"]),)


def waiting_on_a_lock(db: psycopg.Connection) -> bool:
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO %%'"
    ).fetchone()
    return row is not None and row[0] > 0


def test_killing_the_master_under_load_loses_no_committed_rotation(start_server, stack, token_pairs):
    own_postgres, _ = stack
    # Every refresh waits for a thread rather than meeting the database bulkhead (its default
    # admits one request per two-thread worker): the bulkhead is not what this is about.
    server = start_server(workers=2, threads=2, DATABASE_REQUEST_CONCURRENCY="2")
    clients = [next(token_pairs) for _ in range(CLIENTS)]
    received: list[list[str]] = [[pair["refresh"]] for pair in clients]  # each client's refresh tokens, in order
    killed = threading.Event()

    def rotate(client: int) -> None:
        while not killed.is_set():
            try:
                status, body = server.request("POST", "/api/auth/token/refresh", body={"refresh": received[client][-1]})
            except OSError:
                return  # the server went away mid-request
            assert status == 200, body  # until the kill, never anything else
            received[client].append(body["refresh"])

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(rotate, client) for client in range(CLIENTS)]
        wait_until(lambda: all(len(tokens) > 3 for tokens in received), "a few rotations per client")
        assert server.popen is not None
        os.kill(server.popen.pid, signal.SIGKILL)  # the master alone: its workers notice and exit
        killed.set()
        for future in futures:
            future.result()
    server.popen.wait()

    with psycopg.connect(own_postgres.url, autocommit=True) as db:
        for tokens in received:
            # Every pair a client received was committed, each token the successor of the one before.
            chain = [claims(token)["jti"] for token in tokens]
            for previous, current in itertools.pairwise(chain):
                row = db.execute(
                    "SELECT rotated_from_id FROM tokens_refreshtoken WHERE jti = %s", (uuid.UUID(current),)
                ).fetchone()
                assert row == (uuid.UUID(previous),)
            # At most one rotation past what the client holds: the one whose answer was lost.
            assert successors_of(db, chain[-1]) in (0, 1)
            sid = uuid.UUID(claims(tokens[0])["sid"])
            # No session ended: a kill is not a reuse, and no token has two successors.
            ended = db.execute("SELECT ended_at FROM tokens_session WHERE id = %s", (sid,)).fetchone()
            assert ended == (None,)
            doubled = db.execute(
                "SELECT count(*) FROM (SELECT rotated_from_id FROM tokens_refreshtoken WHERE session_id = %s"
                " AND rotated_from_id IS NOT NULL GROUP BY rotated_from_id HAVING count(*) > 1) AS d",
                (sid,),
            ).fetchone()
            assert doubled == (0,)

    # A new server on the same data: each client goes on from the last pair it received. A
    # client whose last rotation committed without an answer gets that rotation's pair
    # (the reuse interval), not a second successor.
    restarted = start_server(workers=1, threads=2, JWT_REFRESH_REUSE_INTERVAL="600")
    with psycopg.connect(own_postgres.url, autocommit=True) as db:
        for tokens in received:
            last = claims(tokens[-1])["jti"]
            status, body = restarted.request("POST", "/api/auth/token/refresh", body={"refresh": tokens[-1]})
            assert status == 200, body
            assert successors_of(db, last) == 1
