"""Fixtures that start the real processes the fault tests break (see servers.py).

PostgreSQL and Redis are the tests' own, started once per session on free ports and
restored (resumed, restarted) by each test that breaks them; the machine's shared servers
are never touched. Skipped with the reason when initdb or redis-server is not installed.
"""

import json
from collections.abc import Iterator

import pytest

from tests.faults.servers import Gunicorn, Postgres, Redis, postgres_bin, redis_of_its_own

REDIRECT_URI = "https://app.example.com/auth/callback"
# A production server's environment, but its database and cache.
SERVER_ENV = {
    "SOCIAL_REDIRECT_URIS": REDIRECT_URI,
    # The HTTP client here keeps no cookies.
    "SOCIAL_BIND_TO_BROWSER": "0",
    # The limits are not what these tests are about.
    "API_THROTTLE_SIGN_IN": "",
    "API_THROTTLE_SIGN_IN_PROVIDER": "",
    "API_THROTTLE_TOKENS": "",
    "API_THROTTLE_SESSION": "",
}
# Enough token pairs for every test of the suite; each is a new session of a new user.
PAIRS_ISSUED = 50


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[Postgres]:
    if postgres_bin() is None:
        pytest.skip("needs PostgreSQL's initdb (/usr/lib/postgresql/*/bin): apt-get install postgresql")
    server = Postgres()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def own_redis() -> Iterator[Redis]:
    with redis_of_its_own() as server:
        yield server


@pytest.fixture(scope="session")
def stack_env(own_postgres, own_redis, tmp_path_factory) -> dict[str, str]:
    """The environment of a production server on the tests' own PostgreSQL and Redis, migrated."""
    env = {"DATABASE_URL": own_postgres.url, "REDIS_URL": own_redis.url, **SERVER_ENV}
    Gunicorn(env, log=tmp_path_factory.mktemp("migrate") / "log").manage("migrate", "--noinput")
    return env


def _restore(postgres: Postgres, redis: Redis) -> None:
    """Whatever a test broke, the next one finds both servers running."""
    for server in (postgres, redis):
        process = server.process
        if process is not None and process.popen.poll() is None:
            process.resume()
        else:
            server.start()


@pytest.fixture
def stack(own_postgres, own_redis) -> Iterator[tuple[Postgres, Redis]]:
    """The tests' own PostgreSQL and Redis, for a test that breaks them; both running again after it."""
    yield own_postgres, own_redis
    _restore(own_postgres, own_redis)


@pytest.fixture
def start_server(stack_env, stack, tmp_path) -> Iterator:
    """Starts gunicorn (with gunicorn.conf.py) on the stack, with extra environment; stops it after.

    live=False returns at once: the test calls wait_until_live() once it has done what needs no server.
    """
    started: list[Gunicorn] = []

    def start(*, workers: int = 1, threads: int = 4, live: bool = True, **env: str) -> Gunicorn:
        log = tmp_path / f"gunicorn-{len(started)}.log"
        server = Gunicorn({**stack_env, **env}, log=log, workers=workers, threads=threads)
        started.append(server)
        server.launch()
        if live:
            server.wait_until_live()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(stack_env, tmp_path_factory) -> Iterator[Gunicorn]:
    """One server for the database, cache and worker faults: each test breaks and restores the stack under it.

    New database connections wait for a paused PostgreSQL (a long connect timeout), so that
    the requests of the pause test wait rather than fail; the down test gets refusals either way.
    """
    env = {
        **stack_env,
        "SOCIAL_KAKAO_CLIENT_ID": "kakao-client",
        "DATABASE_CONNECT_TIMEOUT": "300",
        # A retry after a killed worker may come late on a busy machine.
        "JWT_REFRESH_REUSE_INTERVAL": "600",
        "GUNICORN_BODY_READ_TIMEOUT": "2",
    }
    started = Gunicorn(env, log=tmp_path_factory.mktemp("gunicorn") / "log", threads=4)
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def token_pairs(stack_env, tmp_path_factory) -> Iterator[dict]:
    """Fresh token pairs of users of the stack's database, one per call: all issued by one manage.py run."""
    issuer = Gunicorn(stack_env, log=tmp_path_factory.mktemp("issue") / "log")
    code = (
        "import json; from dataclasses import asdict; from tokens.services import token_pair_for_email; "
        f"print(json.dumps([asdict(token_pair_for_email(email=f'user{{i}}@example.com', create=True)) "
        f"for i in range({PAIRS_ISSUED})]))"
    )
    # The last line: the auth event log may write its own lines before it.
    return iter(json.loads(issuer.manage("shell", "-c", code).splitlines()[-1]))
