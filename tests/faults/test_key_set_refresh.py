"""A gunicorn worker keeps its signing key set current from a thread of its own (tokens.keys).

With PostgreSQL paused, a copy past JWT_KEY_SET_MAX_AGE is the thread's problem: requests
verify and sign-free endpoints answer with the copy they have, and the JWKS is served.
"""

import json
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.faults.servers import Gunicorn

# A request that waited on the paused database would hit this, and fail the test instead of hanging it.
REQUEST_TIMEOUT = 20
KEYS_ENV = {
    "JWT_SIGNING_KEY": "",
    "JWT_VERIFYING_KEY": "",
    "JWT_ALGORITHM": "ES256",
    "JWT_KEY_SET_MAX_AGE": "1",
    "JWT_JWKS_MAX_AGE": "2",
    "JWT_KEY_ACTIVATION_DELAY": "10",
    # New connections wait for a paused PostgreSQL rather than fail.
    "DATABASE_CONNECT_TIMEOUT": "300",
}


@pytest.fixture
def database_keys(stack_env, stack, tmp_path) -> Iterator[dict[str, str]]:
    """A key in the stack's database, removed after the test: the other fault tests use the environment's."""
    own_postgres, _ = stack
    env = {**stack_env, **KEYS_ENV}
    Gunicorn(env, log=tmp_path / "rotate.log").manage("rotate_signing_key")
    yield KEYS_ENV
    with psycopg.connect(own_postgres.url, autocommit=True) as connection:
        connection.execute("DELETE FROM tokens_signingkey")


def test_with_postgres_paused_a_stale_key_set_holds_no_request(start_server, stack, database_keys):
    own_postgres, _ = stack
    server = start_server(**database_keys)
    pair = json.loads(server.manage("issue_tokens", "--email", "keys@example.com", "--create"))
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
    (kid,) = {key["kid"] for key in server.request("GET", "/.well-known/jwks.json")[1]["keys"]}
    with own_postgres.process.paused():
        time.sleep(2.5)  # the worker's copy is now past JWT_KEY_SET_MAX_AGE; its thread waits on PostgreSQL
        for _ in range(3):
            status, _body = server.request("GET", "/api/auth/whoami", token=pair["access"], timeout=REQUEST_TIMEOUT)
            assert status == 200
            status, jwks = server.request("GET", "/.well-known/jwks.json", timeout=REQUEST_TIMEOUT)
            assert (status, [key["kid"] for key in jwks["keys"]]) == (200, [kid])
    # Resumed: the thread's re-read completes, and the worker goes on.
    assert server.request("GET", "/api/auth/whoami", token=pair["access"])[0] == 200
