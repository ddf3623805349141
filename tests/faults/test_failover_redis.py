"""A Redis Sentinel failover under refresh and logout traffic: no revocation is lost, and the service recovers.

A Redis primary, a replica and three Sentinels on free loopback ports; gunicorn (2 workers,
the denylist mirror on, the token throttle counting in Redis) finds the primary through the
Sentinels (REDIS_URL redis+sentinel://). The primary is killed; once the Sentinels have
promoted the replica, every session whose logout was acknowledged, and every session the
database says has ended, is refused by every worker. The recovery time is printed
(docs/operations.md quotes it), never asserted.
"""

import queue
import time
import uuid

import pytest
import redis

from tests.faults.failover import (
    SESSIONS,
    SUCCESSORS_OF_ANY_TOKEN,
    Traffic,
    assert_ended_sessions_refused,
    issue_pairs,
    report_recovery,
    require,
)
from tests.faults.servers import Gunicorn, Redis, RedisSentinel, redis_server_bin, wait_until

SERVICE = "mymaster"


def named_primary_port(sentinel: RedisSentinel) -> int | None:
    try:
        address = redis.Redis(port=sentinel.port, socket_timeout=1).sentinel_get_master_addr_by_name(SERVICE)
    except redis.RedisError:
        return None
    return int(address[1]) if address else None


@pytest.fixture
def sentinel_stack(tmp_path_factory):
    require(redis_server_bin() is not None, "redis-server")
    # Replication copies a snapshot through the files of each server's folder: not the working tree's.
    primary = Redis("--dir", str(tmp_path_factory.mktemp("redis-primary")))
    primary.start()
    replica = Redis(
        "--replicaof", "127.0.0.1", str(primary.port), "--dir", str(tmp_path_factory.mktemp("redis-replica"))
    )
    replica.start()
    sentinels = [RedisSentinel(primary, name=SERVICE, quorum=2) for _ in range(3)]

    def ready() -> bool:
        # A failover needs a quorum of Sentinels that know each other, and a replica they know of.
        try:
            states = [
                redis.Redis(port=sentinel.port, socket_timeout=1).sentinel_master(SERVICE) for sentinel in sentinels
            ]
        except redis.RedisError:
            return False
        return all(state["num-slaves"] == 1 and state["num-other-sentinels"] == 2 for state in states)

    wait_until(ready, "three Sentinels watching the primary and its replica")
    yield primary, replica, sentinels
    for sentinel in sentinels:
        sentinel.remove()
    replica.stop()
    primary.stop()


def test_after_a_sentinel_failover_every_ended_session_is_refused_by_every_worker(
    sentinel_stack, stack_env, own_postgres, tmp_path
):
    primary, replica, sentinels = sentinel_stack
    sentinel_hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in sentinels)
    env = {
        **stack_env,
        "REDIS_URL": f"redis+sentinel://{sentinel_hosts}/{SERVICE}/0",
        "JWT_DENYLIST_MIRROR": "1",
        # Every refresh counts in Redis too (a limit far above the traffic): the throttles go through Sentinel.
        "API_THROTTLE_TOKENS": "100000/min",
        "JWT_REFRESH_REUSE_INTERVAL": "600",
    }
    server = Gunicorn(env, log=tmp_path / "gunicorn.log", workers=2, threads=8)
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
            assert primary.process is not None
            primary.process.popen.kill()  # as a host that dies: no goodbye to any client
            died_at = time.monotonic()
            wait_until(lambda: named_primary_port(sentinels[0]) == replica.port, "the Sentinels promoting the replica")
            writable_at = time.monotonic()
            first, every = traffic.wait_for_recovery(writable_at)
            traffic.warm_up(since=writable_at)  # traffic on the new primary too
        finally:
            traffic.finish()
        report_recovery("Redis Sentinel", writable_at - died_at, first, every, traffic)
        assert set(traffic.statuses) <= {0, 200, 204, 503}, traffic.statuses
        # Each worker's mirror followed the failover: resubscribed on the new primary, rebuilt from the database.
        assert server.log.read_text().count("Redis is another server than before") >= 2
        assert own_postgres.execute(SUCCESSORS_OF_ANY_TOKEN) == []
        rotated = own_postgres.execute(
            "SELECT rotated_from_id, jti FROM tokens_refreshtoken WHERE rotated_from_id = ANY(%s)",
            ([uuid.UUID(jti) for jti in traffic.rotations],),
        )
        assert {presented.hex: successor.hex for presented, successor in rotated} == traffic.rotations
        # The sessions of these clients the database says have ended: all those whose logout was acknowledged, and
        # any whose logout was answered 503 after the database had ended it.
        ended = {
            str(row[0])
            for row in own_postgres.execute(
                "SELECT id FROM tokens_session WHERE ended_at IS NOT NULL AND id = ANY(%s)",
                ([uuid.UUID(session_id) for session_id in traffic.access],),
            )
        }
        assert set(traffic.logouts) <= ended
        assert_ended_sessions_refused(server, traffic, ended)
    finally:
        server.stop()
