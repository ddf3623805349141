"""A PostgreSQL failover under refresh and logout traffic: nothing acknowledged is lost, and the service recovers.

A primary and a streaming standby (pg_basebackup -R) on free loopback ports, the standby
synchronous (synchronous_standby_names on the primary), and gunicorn (2 workers) given both
hosts with target_session_attrs=read-write. The primary is stopped the way a crash stops it,
the standby promoted, and everything the service acknowledged is looked for on the new primary.
The recovery time is printed (docs/operations.md quotes it), never asserted.
"""

import queue
import time
import uuid

import pytest

from tests.faults.conftest import SERVER_ENV
from tests.faults.failover import (
    SESSIONS,
    SUCCESSORS_OF_ANY_TOKEN,
    Traffic,
    assert_ended_sessions_refused,
    issue_pairs,
    report_recovery,
    require,
)
from tests.faults.servers import Gunicorn, Postgres, postgres_bin, wait_until


@pytest.fixture
def primary_and_standby():
    bindir = postgres_bin()
    require(bindir is not None and (bindir / "pg_basebackup").exists(), "PostgreSQL's initdb and pg_basebackup")
    primary = Postgres()
    primary.start()
    standby = Postgres(standby_of=primary)
    standby.start()
    # Synchronous from now on: a commit returns once the standby has it. Set on the primary alone (not in the
    # copied configuration), so that the promoted standby, which has no standby of its own, does not wait for one.
    primary.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.execute("SELECT pg_reload_conf()")
    wait_until(
        lambda: primary.execute("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == [(1,)],
        "the standby replicating synchronously",
    )
    yield primary, standby
    primary.remove()
    standby.remove()


def test_a_promoted_standby_has_every_acknowledged_rotation_and_logout(primary_and_standby, own_redis, tmp_path):
    primary, standby = primary_and_standby
    both = f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/postgres"
    env = {
        **SERVER_ENV,
        "DATABASE_URL": f"{both}?target_session_attrs=read-write",
        "REDIS_URL": own_redis.url,
        "JWT_DENYLIST_MIRROR": "1",
        # A refresh whose answer was lost in the failover is sent again, and gets the same successor back.
        "JWT_REFRESH_REUSE_INTERVAL": "600",
    }
    server = Gunicorn(env, log=tmp_path / "gunicorn.log", workers=2, threads=8)
    server.manage("migrate", "--noinput")
    server.launch()
    try:
        sessions: queue.Queue = queue.Queue()
        for pair in issue_pairs(server, SESSIONS):
            sessions.put(pair)
        server.wait_until_live()
        traffic = Traffic(server, sessions)
        try:
            traffic.start()
            traffic.warm_up()
            primary.stop_immediately()
            died_at = time.monotonic()
            assert standby.execute("SELECT pg_promote(true, 60)") == [(True,)]
            writable_at = time.monotonic()
            first, every = traffic.wait_for_recovery(writable_at)
            traffic.warm_up(since=writable_at)  # traffic on the new primary too
        finally:
            traffic.finish()
        report_recovery("PostgreSQL", writable_at - died_at, first, every, traffic)
        assert set(traffic.statuses) <= {0, 200, 204, 503}, traffic.statuses
        # No refresh token has two successors.
        assert standby.execute(SUCCESSORS_OF_ANY_TOKEN) == []
        # Every acknowledged rotation and logout is on the new primary (a jti claim is hex, a sid has dashes).
        rotated = standby.execute(
            "SELECT rotated_from_id, jti FROM tokens_refreshtoken WHERE rotated_from_id = ANY(%s)",
            ([uuid.UUID(jti) for jti in traffic.rotations],),
        )
        assert {presented.hex: successor.hex for presented, successor in rotated} == traffic.rotations
        ended = {str(row[0]) for row in standby.execute("SELECT id FROM tokens_session WHERE ended_at IS NOT NULL")}
        assert set(traffic.logouts) <= ended
        # Every ended session's access tokens are refused by the workers that lived through the failover.
        assert_ended_sessions_refused(server, traffic, ended)
    finally:
        server.stop()
