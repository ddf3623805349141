"""A real gunicorn (gunicorn.conf.py) on the tests' own PostgreSQL and Redis, with each one broken in turn.

What is asserted: status, problem code, what answers while something else waits, and that
everything recovers without restarting the server. Never how long anything took.
"""

import http.client
import json
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import psycopg

from tests.faults.conftest import REDIRECT_URI
from tests.faults.servers import Gunicorn, Postgres, SlowProvider, wait_until

# Long enough that a request waiting on a paused dependency is still waiting when the test
# looks, short enough that a bug cannot hang the suite.
PAUSED_REQUEST_TIMEOUT = 120


def assert_problem(answer: tuple[int, dict], status: int, code: str) -> dict:
    got_status, body = answer
    assert (got_status, body.get("code")) == (status, code), body
    return body


def assert_unavailable(answer: tuple[int, dict], dependency: str) -> None:
    body = assert_problem(answer, 503, "service_unavailable")
    assert body["dependency"] == dependency
    assert int(body["_retry_after"]) > 0


def in_background(pool: ThreadPoolExecutor, server: Gunicorn, *args, **kwargs) -> Future:
    return pool.submit(server.request, *args, timeout=PAUSED_REQUEST_TIMEOUT, **kwargs)


def begin_login(server: Gunicorn) -> str:
    status, body = server.request("POST", "/api/auth/social/kakao/authorize", body={"redirect_uri": REDIRECT_URI})
    assert status == 200, body
    return body["state"]


def kakao_env(provider: SlowProvider, **env: str) -> dict[str, str]:
    return {
        "SOCIAL_KAKAO_CLIENT_ID": "kakao-client",
        "SOCIAL_KAKAO_TOKEN_URL": f"{provider.url}/oauth/token",
        "SOCIAL_KAKAO_USERINFO_URL": f"{provider.url}/v2/user/me",
        **env,
    }


# --- a provider that hangs or trickles ----------------------------------------------------


def test_callbacks_held_by_a_hung_provider_leave_whoami_and_liveness_answering(start_server, token_pairs):
    with SlowProvider("hang") as provider, ThreadPoolExecutor(4) as pool:
        server = start_server(
            threads=4, **kakao_env(provider, SOCIAL_CALLBACK_CONCURRENCY="2", SOCIAL_CALLBACK_DEADLINE="300")
        )
        pair = next(token_pairs)
        states = [begin_login(server) for _ in range(3)]
        held = [
            in_background(pool, server, "POST", "/api/auth/social/kakao/callback", body={"code": "c", "state": state})
            for state in states[:2]
        ]
        provider.wait_for_request()
        provider.wait_for_request()  # both callbacks are inside the provider: the bulkhead is full

        busy = server.request("POST", "/api/auth/social/kakao/callback", body={"code": "c", "state": states[2]})
        assert_problem(busy, 503, "provider_busy")
        assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
        assert server.request("GET", "/api/health/live")[0] == 200
        assert not any(future.done() for future in held)  # all of that while the callbacks still wait

        provider.release.set()
        for future in held:
            assert_problem(future.result(), 502, "provider_unavailable")


def test_a_trickling_token_endpoint_is_a_504_at_the_deadline_not_a_killed_worker(start_server):
    with SlowProvider("trickle", interval=0.5) as provider, ThreadPoolExecutor(2) as pool:
        server = start_server(threads=2, **kakao_env(provider, SOCIAL_CALLBACK_DEADLINE="3"))
        state = begin_login(server)
        trickling = in_background(
            pool, server, "POST", "/api/auth/social/kakao/callback", body={"code": "c", "state": state}
        )
        provider.wait_for_request()
        assert server.request("GET", "/api/health/live")[0] == 200
        assert_problem(trickling.result(), 504, "provider_timeout")
        assert server.request("GET", "/api/health/live")[0] == 200


# --- PostgreSQL ---------------------------------------------------------------------------


def test_with_postgres_paused_whoami_and_liveness_answer_while_database_requests_wait(server, stack, token_pairs):
    own_postgres, _ = stack
    pair = next(token_pairs)
    # The steady state: the denylist copy is complete (a bearer check after a Redis start
    # rebuilds it from the database first, and would wait too).
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
    with ThreadPoolExecutor(2) as pool:
        with own_postgres.process.paused():
            waiting = [in_background(pool, server, "GET", "/api/users/me", token=pair["access"]) for _ in range(2)]
            wait_until_sent(server)
            assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
            assert server.request("GET", "/api/health/live")[0] == 200
            assert not any(future.done() for future in waiting), [f.result() for f in waiting if f.done()]
        # Resumed: the requests that waited complete, on the same server.
        assert [future.result()[0] for future in waiting] == [200, 200]


def wait_until_sent(server: Gunicorn) -> None:
    """Lets requests submitted just before reach the server's threads (a liveness round trip behind them)."""
    server.request("GET", "/api/health/live")


def test_with_postgres_down_database_requests_are_503_and_recover_without_a_restart(server, stack, token_pairs):
    own_postgres, _ = stack
    pair = next(token_pairs)
    # A running server has read its signing keys from the database (docs/keys.md); without this line the test
    # relied on an earlier one for that.
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
    own_postgres.stop()

    assert_unavailable(server.request("POST", "/api/auth/token/refresh", body={"refresh": pair["refresh"]}), "database")
    assert_unavailable(server.request("GET", "/api/users/me", token=pair["access"]), "database")
    assert_unavailable(server.request("POST", "/api/auth/logout", token=pair["access"]), "database")
    status, ready = server.request("GET", "/api/health/ready")
    assert (status, ready["database"]["status"], ready["cache"]["status"]) == (503, "unavailable", "ok")
    # What does not need the database goes on.
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
    assert server.request("POST", "/api/auth/token/verify", body={"token": pair["access"]})[0] == 200
    assert server.request("GET", "/api/health/live")[0] == 200

    own_postgres.start()
    assert server.request("GET", "/api/health/ready")[0] == 200
    assert server.request("POST", "/api/auth/token/refresh", body={"refresh": pair["refresh"]})[0] == 200


@contextmanager
def requiring_a_synchronous_standby(postgres: Postgres) -> Iterator[None]:
    """synchronous_standby_names set on `postgres`, which has no standby; withdrawn on leaving, as an operator would."""
    postgres.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
    postgres.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        postgres.execute("ALTER SYSTEM RESET synchronous_standby_names")
        postgres.execute("SELECT pg_reload_conf()")


def test_a_primary_requiring_a_synchronous_standby_it_lacks_is_not_ready_and_holds_writes_until_withdrawn(
    server, stack, token_pairs
):
    # The promoted standby that inherited synchronous_standby_names, or an old primary restarted alone.
    own_postgres, _ = stack
    refreshes: list[tuple[dict, Future]] = []

    def a_refresh_waits_for_a_standby() -> bool:
        # pg_reload_conf() only signals: until the server's processes have read the setting, a refresh commits at
        # once (it did in one CI run). Then the next pair's refresh is sent, until one waits in its COMMIT.
        if not refreshes or refreshes[-1][1].done():
            pair = next(token_pairs)
            body = {"refresh": pair["refresh"]}
            refreshes.append((pair, in_background(pool, server, "POST", "/api/auth/token/refresh", body=body)))
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
        return own_postgres.execute(waiting) == [(1,)]

    with ThreadPoolExecutor(1) as pool:
        with requiring_a_synchronous_standby(own_postgres):
            wait_until(a_refresh_waits_for_a_standby, "a refresh's commit waiting for a standby")
            pair, refresh = refreshes[-1]
            assert all(done.result()[0] == 200 for _, done in refreshes[:-1])
            status, ready = server.request("GET", "/api/health/ready")
            assert (status, ready.get("code"), ready["database"]["status"], ready["cache"]["status"]) == (
                503,
                "service_unavailable",
                "unavailable",
                "ok",
            ), ready
            assert "synchronous standby" in ready["detail"]
            # Reads commit nothing to wait for.
            assert server.request("GET", "/api/users/me", token=pair["access"])[0] == 200
            assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
            assert server.request("POST", "/api/auth/token/verify", body={"token": pair["access"]})[0] == 200
            assert not refresh.done()
        # Withdrawn: the commit that waited returns, and the rotation with it.
        assert refresh.result()[0] == 200
    assert server.request("GET", "/api/health/ready")[0] == 200


def test_a_connection_postgres_dropped_while_idle_is_replaced_before_the_next_request_uses_it(
    start_server, stack, token_pairs
):
    own_postgres, _ = stack
    # One thread, so one kept connection: the one the next request finds.
    server = start_server(threads=1)
    status, pair = server.request("POST", "/api/auth/token/refresh", body={"refresh": next(token_pairs)["refresh"]})
    assert status == 200, pair
    with psycopg.connect(own_postgres.url, autocommit=True) as admin:
        # What a restart, pg_terminate_backend or idle_session_timeout does to a kept connection.
        # The timeout waits until the backend has exited, so its goodbye is on the socket; a
        # request sent in the instant before that is the race docs/operations.md names.
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
    assert (True,) in dropped
    # The health check (core/postgresql/base.py) sees the drop: a new connection, not a 503.
    status, body = server.request("POST", "/api/auth/token/refresh", body={"refresh": pair["refresh"]})
    assert status == 200, body


# --- Redis --------------------------------------------------------------------------------


def test_with_redis_down_the_denylist_fails_closed_refresh_goes_on_and_logout_still_revokes(server, stack, token_pairs):
    _, own_redis = stack
    pair = next(token_pairs)
    logged_out = next(token_pairs)
    own_redis.stop()

    # The process's denylist mirror (tokens/mirror.py) answers until it can no longer prove
    # it is current; then the check fails closed.
    wait_until(
        lambda: server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 503, "whoami failing closed"
    )
    assert_unavailable(server.request("GET", "/api/auth/whoami", token=pair["access"]), "cache")
    assert_unavailable(server.request("POST", "/api/auth/token/verify", body={"token": pair["access"]}), "cache")
    # A login cannot begin without storing its state and verifier.
    assert_unavailable(
        server.request("POST", "/api/auth/social/kakao/authorize", body={"redirect_uri": REDIRECT_URI}), "cache"
    )
    status, ready = server.request("GET", "/api/health/ready")
    assert (status, ready["database"]["status"], ready["cache"]["status"]) == (503, "ok", "unavailable")
    refreshed = server.request("POST", "/api/auth/token/refresh", body={"refresh": pair["refresh"]})
    assert refreshed[0] == 200  # the throttles fail open; rotation needs only the database
    # Logout writes the database first: the session ends although the denylist write fails.
    assert_unavailable(server.request("POST", "/api/auth/logout", token=logged_out["access"]), "cache")
    assert server.request("GET", "/api/health/live")[0] == 200

    own_redis.start()  # empty: no denylist entry, no marker
    assert_problem(server.request("GET", "/api/auth/whoami", token=logged_out["access"]), 401, "token_revoked")
    assert server.request("GET", "/api/auth/whoami", token=refreshed[1]["access"])[0] == 200


def test_with_redis_paused_bearer_requests_are_503_and_recover_on_resume(server, stack, token_pairs):
    _, own_redis = stack
    pair = next(token_pairs)
    with own_redis.process.paused():
        wait_until(
            lambda: server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 503, "whoami failing closed"
        )
        assert_unavailable(server.request("GET", "/api/auth/whoami", token=pair["access"]), "cache")
        assert server.request("GET", "/api/health/live")[0] == 200
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200


def test_a_redis_flush_or_restart_does_not_bring_a_logged_out_token_back(server, stack, token_pairs):
    _, own_redis = stack
    pair = next(token_pairs)
    assert server.request("POST", "/api/auth/logout", token=pair["access"])[0] == 204
    assert_problem(server.request("GET", "/api/auth/whoami", token=pair["access"]), 401, "token_revoked")

    flush(own_redis.port)
    assert_problem(server.request("GET", "/api/auth/whoami", token=pair["access"]), 401, "token_revoked")

    own_redis.restart_empty()
    assert_problem(server.request("GET", "/api/auth/whoami", token=pair["access"]), 401, "token_revoked")


def flush(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        assert sock.recv(16).startswith(b"+OK")


# --- a client that stops sending its body -----------------------------------------------------


def test_a_request_body_that_stalls_is_a_400_and_frees_the_thread(server, token_pairs):
    pair = next(token_pairs)
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            b"POST /api/auth/token/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        # ...and nothing more: the read of the rest fails after GUNICORN_BODY_READ_TIMEOUT.
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = json.loads(answer.read())
    assert (answer.status, body["code"]) == (400, "bad_request"), body
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
