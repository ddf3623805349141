"""A per-process mirror of the session denylist, so that a bearer check makes no network call.

With Redis as the cache (and JWT_DENYLIST_MIRROR on), each process holds the ended sessions
in memory: {session id: when its last access token expires}. A thread of the process keeps it
current:

1. it SUBSCRIBEs to the denylist channel and waits for Redis to confirm, so that every
   revocation published from then on reaches it;
2. it registers itself (below) and loads the snapshot, a sorted set of (session id, expiry)
   written next to each entry; before that, `ensure_complete` (tokens.denylist) rebuilds the
   copy from the database if Redis restarted empty or was flushed, or if the server answering
   is another one than before (its run_id changed: a Sentinel failover promoted a replica,
   which may lack the last writes of the primary it replaces, and holds that primary's marker);
3. it applies each published revocation and acknowledges it, and every PING_INTERVAL seconds
   it renews its registration and PINGs on the subscription: the PONG comes back on the same
   connection, after every message published before it, so hearing it proves nothing was
   missed up to the moment the registration was renewed.

The mirror answers only while it can prove it is current: it was complete at a moment
(`_heard_at`) at most STALE_AFTER seconds ago. Otherwise (not loaded yet, connection lost,
Redis or the process hung) the check reads Redis directly, as with the mirror off, and so fails
closed: a Redis that cannot be read answers 503, never a stale "not revoked". After a
reconnect the thread resubscribes and reloads the snapshot. Entries expire with the
access-token lifetime, so the mirror holds at most the revocations of one lifetime.

Immediate revocation (publish_denied): the ending process applies the entry to its own mirror,
writes the snapshot, publishes, and waits until every registered mirror has acknowledged, for
at most STALE_AFTER seconds. The registry is a sorted set of mirror ids scored with Redis's
clock (TIME) when each registered. Why this is enough: a mirror renews its registration before
each PING and takes as its proof time the moment before renewing, so a mirror that can still
answer from a proof older than the publication was registered within STALE_AFTER of the
publisher's read of the registry (REGISTERED_FOR >= STALE_AFTER), and is waited for; a mirror
whose proof is newer heard the message before its PONG. A mirror that does not acknowledge
within STALE_AFTER has no proof newer than the publication and so stops answering by then:
the wait's end is a bound, not a guess. docs/tokens.md has the measured costs.

A mirror that reloads the snapshot (a reconnect, a resync, a subscription dropped with messages
still buffered in it) may never hear a publication it was registered for. So the publisher lists
each publication (PUBLICATIONS) after writing its entries to the snapshot, and a loading mirror
reads that list before the snapshot and acknowledges what it names: the entries are in what it
loads, so the acknowledgement is true, and the publisher is not left waiting out the bound.

Why pub/sub and not a stream: what a process needs after a gap is the current set, not the
history, and the snapshot gives it in one read bounded by one lifetime's revocations; while
connected, pub/sub delivers in order on one connection, and the PING proves it. A stream
would add a log to trim and a cursor per process for no property the snapshot lacks.

`counters` says what the mirror did, `publisher_counters` what this process's publications
waited for (tests, bench and operators read them); a loss, a resync and a missing
acknowledgement are each logged.

This module knows the channel and the snapshot, not the denylist (tokens.denylist imports it,
never the other way round).
"""

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.db import connection

from core.cache import RedisCache, default_cache

logger = logging.getLogger(__name__)

CHANNEL = "tokens:denylist:events"
INDEX = "tokens:denylist:index"  # sorted set: session id -> expiry (Unix seconds)
REGISTRY = "tokens:denylist:mirrors"  # sorted set: mirror id -> when it last registered (Redis's clock)
ACKS = "tokens:denylist:acks:"  # + publication id: a list of the ids of the mirrors that applied it
PUBLICATIONS = "tokens:denylist:publications"  # sorted set: publication id -> when published (publisher's clock)
PING_INTERVAL = 1.0
# The documented bound: no proof of completeness for this long, the mirror stops answering.
STALE_AFTER = 3.0
# A registration older than this (by Redis's clock) is a mirror that can no longer answer.
REGISTERED_FOR = STALE_AFTER + 0.5
RECONNECT_DELAY = 1.0
# How long an acknowledgement list outlives its publication (the publisher waits STALE_AFTER at most).
ACKS_KEPT = 30
# A mirror that loads the snapshot acknowledges the publications of this many seconds before: the
# publisher's wait (STALE_AFTER) with room for clocks that differ between hosts.
ACKNOWLEDGED_ON_LOAD = 10.0
# Registrations unrenewed this long (crashed processes) are dropped from the registry.
REGISTRY_KEPT = 60
# Through Sentinel: how long a revocation waits for a replica to hold it (Redis's WAIT), in ms.
REPLICA_WAIT_MS = 1000


@dataclass
class Counters:
    answered: int = 0  # checks the mirror answered
    fell_back: int = 0  # checks that read Redis directly because the mirror could not prove it was current
    synced: int = 0  # snapshot loads (start, every reconnect, every rebuild elsewhere)
    lost: int = 0  # subscriptions lost
    acknowledged: int = 0  # revocations applied and acknowledged


@dataclass
class PublisherCounters:
    published: int = 0  # revocations published by this process
    waited_for: int = 0  # acknowledgements expected, over all of them
    unacknowledged: int = 0  # publications that waited the full STALE_AFTER for a mirror


publisher_counters = PublisherCounters()


def _redis_key(backend: RedisCache, name: str) -> str:
    return backend.make_and_validate_key(name)


def _client(backend: RedisCache) -> Any:
    return backend._cache.get_client(write=True)


def _redis_time(reply: tuple[int, int]) -> float:
    seconds, microseconds = reply
    return seconds + microseconds / 1e6


class DenylistMirror:
    def __init__(self, *, ensure_complete: Callable[[float | None], None]) -> None:
        # A backend of its own, built from the settings of now: the thread keeps following
        # this Redis even if the settings move on (tests), and redis.Redis is thread-safe.
        backend = caches.create_connection("default")
        assert isinstance(backend, RedisCache)
        self._backend = backend
        self._ensure_complete = ensure_complete
        self.id = uuid.uuid4().hex
        self._entries: dict[str, float] = {}
        # Entries are added by the thread and by this process's own revocations (apply);
        # a snapshot load replaces the dict, so both hold the lock.
        self._lock = threading.Lock()
        self._heard_at: float | None = None  # time.monotonic() the mirror was last proven complete; None: not loaded
        self._server_id: str | None = None  # the run_id of the Redis server the mirror last loaded from
        self._lost_at: float | None = None  # time.monotonic() the mirror last lost its subscription
        self._stop = threading.Event()
        self.counters = Counters()
        self._thread = threading.Thread(target=self._run, name="denylist-mirror", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, wait: bool = True) -> None:
        """Stops the thread (`wait`: joins it) and leaves the registry."""
        self._stop.set()
        if wait:
            self._thread.join(timeout=5)
        # A clean stop: publishers need not wait for this mirror until its registration ages out
        # (best effort: it ages out anyway).
        with contextlib.suppress(Exception):
            _client(self._backend).zrem(_redis_key(self._backend, REGISTRY), self.id)

    def is_current(self) -> bool:
        heard_at = self._heard_at
        return heard_at is not None and time.monotonic() - heard_at <= STALE_AFTER

    def is_denied(self, session_id: str) -> bool | None:
        """Whether the session has ended, or None when the mirror cannot prove it has not.

        An entry held is proof enough even while the mirror is not current: an ended session never
        comes back to life. So a revocation this process heard is refused during a Redis failover
        too, whatever the new primary holds.
        """
        expires_at = self._entries.get(session_id)
        if expires_at is not None and expires_at > time.time():
            self.counters.answered += 1
            return True
        if not self.is_current():
            self.counters.fell_back += 1
            return None
        self.counters.answered += 1
        return False

    def apply(self, session_expiries: dict[str, float]) -> None:
        """Adds ended sessions (a revocation of this process's own, or one heard on the channel)."""
        with self._lock:
            self._entries.update(session_expiries)

    # --- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as error:  # any failure means: resubscribe and reload
                if self._stop.is_set():
                    break
                if self._heard_at is not None or self.counters.lost == 0:
                    logger.warning(
                        "denylist mirror lost (%s); bearer checks read Redis directly until it resyncs",
                        type(error).__name__,
                    )
                self.counters.lost += 1
            finally:
                self._heard_at = None
                self._lost_at = time.monotonic()
                connection.close()  # the rebuild's database connection, if it opened one
            self._stop.wait(RECONNECT_DELAY)

    def _follow(self) -> None:
        backend = self._backend
        server_id = _client(backend).info("server")["run_id"]
        pubsub = _client(backend).pubsub()
        try:
            pubsub.subscribe(_redis_key(backend, CHANNEL))
            # Redis confirms the subscription before anything published after it can arrive.
            self._expect(pubsub, "subscribe")
            server_changed_since = None
            if self._server_id is not None and server_id != self._server_id:
                logger.warning("denylist mirror: Redis is another server than before; rebuilding from the database")
                server_changed_since = self._lost_at
            self._load(backend, proven_at=self._register(backend), server_changed_since=server_changed_since)
            self._server_id = server_id
            pinged_at = time.monotonic()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=PING_INTERVAL)
                if message is not None:
                    self._receive(backend, message)
                now = time.monotonic()
                if now - pinged_at >= PING_INTERVAL:
                    if not self.is_current():
                        raise TimeoutError(f"no proof of completeness for over {STALE_AFTER} s")
                    # The PONG carries the moment before the registration it follows.
                    pubsub.ping(repr(self._register(backend)))
                    pinged_at = now
                    self._purge()
        finally:
            pubsub.close()

    def _register(self, backend: RedisCache) -> float:
        """Renews this mirror's registration; returns the time.monotonic() taken just before."""
        before = time.monotonic()
        if self._stop.is_set():  # stopping: registering again would make publishers wait for nothing
            raise InterruptedError("the mirror is stopping")
        client = _client(backend)
        registry = _redis_key(backend, REGISTRY)
        now = _redis_time(client.time())
        pipe = client.pipeline(transaction=False)
        pipe.zadd(registry, {self.id: now})
        pipe.zremrangebyscore(registry, "-inf", now - REGISTRY_KEPT)
        pipe.expire(registry, REGISTRY_KEPT)
        pipe.execute()
        return before

    def _expect(self, pubsub: Any, kind: str) -> None:
        deadline = time.monotonic() + STALE_AFTER
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=PING_INTERVAL)
            if message is not None and message["type"] == kind:
                return
        raise TimeoutError(f"Redis did not confirm the {kind}")

    def _receive(self, backend: RedisCache, message: dict[str, Any]) -> None:
        if message["type"] == "pong":
            self._heard_at = float(message["data"])
        elif message["type"] == "message":
            event = json.loads(message["data"])
            if event.get("resync"):
                self._load(backend, proven_at=self._register(backend))
                return
            self.apply(dict.fromkeys(event["sessions"], float(event["expires_at"])))
            if event.get("ack"):
                self._acknowledge(backend, event["ack"])

    def _load(self, backend: RedisCache, *, proven_at: float, server_changed_since: float | None = None) -> None:
        self._ensure_complete(server_changed_since)
        client = _client(backend)
        now = time.time()
        # Read before the snapshot: each listed publication's entries are already in it (publish_denied).
        publications: list[bytes] = client.zrangebyscore(
            _redis_key(backend, PUBLICATIONS), now - ACKNOWLEDGED_ON_LOAD, "+inf"
        )
        members: list[tuple[bytes, float]] = client.zrangebyscore(
            _redis_key(backend, INDEX), now, "+inf", withscores=True
        )
        with self._lock:
            # What this process applied meanwhile stays: an ended session never comes back to life.
            entries = {session_id: expires_at for session_id, expires_at in self._entries.items() if expires_at > now}
            entries.update({member.decode(): score for member, score in members})
            self._entries = entries
        self._heard_at = proven_at
        self.counters.synced += 1
        for publication in publications:
            self._acknowledge(backend, publication.decode())
        logger.info("denylist mirror current: %d ended sessions", len(entries))

    def _acknowledge(self, backend: RedisCache, publication: str) -> None:
        pipe = _client(backend).pipeline(transaction=False)
        acks = _redis_key(backend, ACKS + publication)
        pipe.rpush(acks, self.id)
        pipe.expire(acks, ACKS_KEPT)
        pipe.execute()
        self.counters.acknowledged += 1

    def _purge(self) -> None:
        now = time.time()
        with self._lock:
            expired = [session_id for session_id, expires_at in self._entries.items() if expires_at <= now]
            for session_id in expired:
                del self._entries[session_id]


# --- the writers' side: every process with Redis writes the index and publishes, mirror or not ---


def index_add(session_expiries: dict[str, float], *, lifetime: float) -> None:
    """Adds ended sessions to the snapshot the mirrors load (a rebuild's, followed by publish_resync)."""
    backend = default_cache()
    if isinstance(backend, RedisCache) and session_expiries:
        pipe = _client(backend).pipeline(transaction=False)
        _index_add(pipe, backend, session_expiries, lifetime=lifetime)
        pipe.execute()


def _index_add(pipe: Any, backend: RedisCache, session_expiries: dict[str, float], *, lifetime: float) -> None:
    index = _redis_key(backend, INDEX)
    pipe.zadd(index, session_expiries)
    pipe.zremrangebyscore(index, "-inf", time.time())
    pipe.expire(index, int(lifetime) + 60)


def publish_denied(
    session_ids: Iterable[Any], *, expires_at: float, lifetime: float, own: DenylistMirror | None
) -> None:
    """Tells every mirror of sessions just ended, and returns once none of them can still let them in.

    `own`, this process's mirror, applies them first, so that this process refuses them
    before the call returns whatever Redis does. Then the snapshot and the message, and the
    wait for every other registered mirror's acknowledgement (the module docstring says why
    that suffices), bounded by STALE_AFTER. No-op without Redis. Redis errors before the
    publication propagate (the caller fails closed); after it, the wait runs to its bound.
    """
    session_expiries = dict.fromkeys((str(session_id) for session_id in session_ids), expires_at)
    backend = default_cache()
    if not isinstance(backend, RedisCache) or not session_expiries:
        return
    if own is not None:
        own.apply(session_expiries)
    publication = uuid.uuid4().hex
    message = {"sessions": list(session_expiries), "expires_at": expires_at, "ack": publication}
    client = _client(backend)
    pipe = client.pipeline(transaction=False)
    _index_add(pipe, backend, session_expiries, lifetime=lifetime)
    # After the snapshot's entries, in the same ordered pipeline (the module docstring says why).
    publications, published_at = _redis_key(backend, PUBLICATIONS), time.time()
    pipe.zadd(publications, {publication: published_at})
    pipe.zremrangebyscore(publications, "-inf", published_at - ACKS_KEPT)
    pipe.expire(publications, ACKS_KEPT)
    if backend.through_sentinel:
        # Replication is asynchronous: a primary that dies right after the logout would take the
        # entries with it, and Sentinel would promote a replica without them. WAIT returns once a
        # replica holds every write made so far (the denylist entries' too, written just before).
        pipe.wait(1, REPLICA_WAIT_MS)
    pipe.publish(_redis_key(backend, CHANNEL), json.dumps(message))
    pipe.time()
    pipe.zrangebyscore(_redis_key(backend, REGISTRY), "-inf", "+inf", withscores=True)
    *replicated, _, redis_now, registered = pipe.execute()
    if backend.through_sentinel and replicated[-1] < 1:
        logger.warning("denylist revocation: no replica confirmed it within %s ms", REPLICA_WAIT_MS)
    deadline = time.monotonic() + STALE_AFTER  # taken after Redis published: the proof's bound
    live_after = _redis_time(redis_now) - REGISTERED_FOR
    expected = {member.decode() for member, registered_at in registered if registered_at >= live_after}
    expected.discard(own.id if own is not None else "")
    publisher_counters.published += 1
    publisher_counters.waited_for += len(expected)
    if expected:
        _await_acknowledgements(client, _redis_key(backend, ACKS + publication), expected, deadline=deadline)


def _await_acknowledgements(client: Any, acks: str, expected: set[str], *, deadline: float) -> None:
    missing = set(expected)
    try:
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Short blocking pops: each stays well within the client's socket timeout.
            popped = client.blpop([acks], timeout=min(remaining, 0.5))
            if popped is not None:
                missing.discard(popped[1].decode())
    except Exception as error:
        # Redis went away after publishing: the mirrors that did not acknowledge go stale by the
        # deadline and then read Redis (which fails closed, or was rebuilt from the database).
        logger.warning("denylist acknowledgements interrupted (%s); waiting out the bound", type(error).__name__)
    if missing:
        publisher_counters.unacknowledged += 1
        logger.warning(
            "denylist revocation: %d mirror(s) did not acknowledge; answered after the %s s bound",
            len(missing),
            STALE_AFTER,
        )
        time.sleep(max(0.0, deadline - time.monotonic()))


def publish_resync() -> None:
    """Tells every mirror to reload the snapshot (after a rebuild from the database)."""
    backend = default_cache()
    if isinstance(backend, RedisCache):
        _client(backend).publish(_redis_key(backend, CHANNEL), json.dumps({"resync": True}))
