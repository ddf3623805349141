"""A per-process mirror of the session denylist, so that a bearer check makes no network call.

With Redis as the cache (and JWT_DENYLIST_MIRROR on), each process holds the ended sessions
in memory: {session id: when its last access token expires}. A thread of the process keeps it
current:

1. it SUBSCRIBEs to the denylist channel and waits for Redis to confirm, so that every
   revocation published from then on reaches it;
2. it loads the snapshot, a sorted set of (session id, expiry) written next to each entry; if
   the denylist's rebuilt marker is missing (Redis restarted empty or was flushed) it first
   rebuilds the copy from the database (tokens.denylist.denylist_rebuild);
3. it applies each published revocation, and PINGs on the subscription every
   PING_INTERVAL seconds: the PONG comes back on the same connection, after every message
   published before it, so hearing it proves nothing was missed up to then.

The mirror answers only while it can prove it is current: subscribed, loaded, and Redis heard
on the subscription within STALE_AFTER seconds. Otherwise (not loaded yet, connection lost,
Redis hung) the check reads Redis directly, as with the mirror off, and so fails closed: a
Redis that cannot be read answers 503, never a stale "not revoked". After a reconnect the
thread resubscribes and reloads the snapshot, so revocations made while it was away are seen.
Entries expire with the access-token lifetime, so the mirror holds at most the revocations
of one lifetime.

Why pub/sub and not a stream: what a process needs after a gap is the current set, not the
history, and the snapshot gives it in one read bounded by one lifetime's revocations; while
connected, pub/sub delivers in order on one connection, and the PING proves it. A stream
would add a log to trim and a cursor per process for no property the snapshot lacks.

`counters` says what the mirror did (tests and operators read it); a loss and a resync are
each logged once.
"""

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.db import connection

from core.cache import RedisCache, default_cache
from core.conf import forget_when_settings_change
from tokens.conf import token_settings

logger = logging.getLogger(__name__)

CHANNEL = "tokens:denylist:events"
INDEX = "tokens:denylist:index"  # sorted set: session id -> expiry (Unix seconds)
PING_INTERVAL = 1.0
# The documented bound: Redis not heard on the subscription for this long, the mirror stops answering.
STALE_AFTER = 3.0
RECONNECT_DELAY = 1.0


@dataclass
class Counters:
    answered: int = 0  # checks the mirror answered
    fell_back: int = 0  # checks that read Redis directly because the mirror could not prove it was current
    synced: int = 0  # snapshot loads (start, every reconnect, every rebuild elsewhere)
    lost: int = 0  # subscriptions lost


def _redis_key(backend: RedisCache, name: str) -> str:
    return backend.make_and_validate_key(name)


class DenylistMirror:
    def __init__(self) -> None:
        # A backend of its own, built from the settings of now: the thread keeps following
        # this Redis even if the settings move on (tests), and redis.Redis is thread-safe.
        backend = caches.create_connection("default")
        assert isinstance(backend, RedisCache)
        self._backend = backend
        self._entries: dict[str, float] = {}
        self._heard_at: float | None = None  # time.monotonic() of the last word from Redis; None: not loaded
        self._stop = threading.Event()
        self.counters = Counters()
        self._thread = threading.Thread(target=self._run, name="denylist-mirror", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def is_current(self) -> bool:
        heard_at = self._heard_at
        return heard_at is not None and time.monotonic() - heard_at <= STALE_AFTER

    def is_denied(self, session_id: str) -> bool | None:
        """Whether the session has ended, or None when the mirror cannot prove it is current."""
        if not self.is_current():
            self.counters.fell_back += 1
            return None
        self.counters.answered += 1
        expires_at = self._entries.get(session_id)
        return expires_at is not None and expires_at > time.time()

    # --- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as error:  # any failure means: resubscribe and reload
                if self._heard_at is not None or self.counters.lost == 0:
                    logger.warning(
                        "denylist mirror lost (%s); bearer checks read Redis directly until it resyncs",
                        type(error).__name__,
                    )
                self.counters.lost += 1
            finally:
                self._heard_at = None
                connection.close()  # the rebuild's database connection, if it opened one
            self._stop.wait(RECONNECT_DELAY)

    def _follow(self) -> None:
        backend = self._backend
        client = backend._cache.get_client(write=True)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(_redis_key(backend, CHANNEL))
            # Redis confirms the subscription before anything published after it can arrive.
            self._expect(pubsub, "subscribe")
            self._load(backend)
            pinged_at = time.monotonic()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=PING_INTERVAL)
                if message is not None:
                    self._receive(backend, message)
                now = time.monotonic()
                if now - pinged_at >= PING_INTERVAL:
                    if not self.is_current():
                        raise TimeoutError(f"Redis silent on the subscription for over {STALE_AFTER} s")
                    pubsub.ping()
                    pinged_at = now
                    self._purge()
        finally:
            pubsub.close()

    def _expect(self, pubsub: Any, kind: str) -> None:
        deadline = time.monotonic() + STALE_AFTER
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=PING_INTERVAL)
            if message is not None and message["type"] == kind:
                return
        raise TimeoutError(f"Redis did not confirm the {kind}")

    def _receive(self, backend: RedisCache, message: dict[str, Any]) -> None:
        if message["type"] == "pong":
            self._heard_at = time.monotonic()
        elif message["type"] == "message":
            event = json.loads(message["data"])
            if event.get("resync"):
                self._load(backend)
            else:
                self._entries.update(dict.fromkeys(event["sessions"], float(event["expires_at"])))

    def _load(self, backend: RedisCache) -> None:
        from tokens import denylist  # denylist imports this module

        client = backend._cache.get_client(write=True)
        if not client.exists(_redis_key(backend, denylist.REBUILT_MARKER)):
            denylist.denylist_rebuild()
        now = time.time()
        members: list[tuple[bytes, float]] = client.zrangebyscore(  # type: ignore[assignment]
            _redis_key(backend, INDEX), now, "+inf", withscores=True
        )
        self._entries = {member.decode(): score for member, score in members}
        self._heard_at = time.monotonic()
        self.counters.synced += 1
        logger.info("denylist mirror current: %d ended sessions", len(self._entries))

    def _purge(self) -> None:
        now = time.time()
        expired = [session_id for session_id, expires_at in self._entries.items() if expires_at <= now]
        for session_id in expired:
            self._entries.pop(session_id, None)


# --- the writers' side: every process with Redis writes the index and publishes, mirror or not ---


def publish_denied(session_expiries: dict[str, float]) -> None:
    """Adds ended sessions to the snapshot and tells every mirror; no-op without Redis."""
    backend = default_cache()
    if not isinstance(backend, RedisCache) or not session_expiries:
        return
    index = _redis_key(backend, INDEX)
    by_expiry: dict[float, list[str]] = {}
    for session_id, expires_at in session_expiries.items():
        by_expiry.setdefault(expires_at, []).append(session_id)
    pipe = backend._cache.get_client(write=True).pipeline(transaction=False)
    pipe.zadd(index, session_expiries)
    pipe.zremrangebyscore(index, "-inf", time.time())
    pipe.expire(index, int(_lifetime_seconds()) + 60)
    for expires_at, sessions in by_expiry.items():
        pipe.publish(_redis_key(backend, CHANNEL), json.dumps({"sessions": sessions, "expires_at": expires_at}))
    pipe.execute()


def publish_resync() -> None:
    """Tells every mirror to reload the snapshot (after a rebuild from the database)."""
    backend = default_cache()
    if isinstance(backend, RedisCache):
        backend._cache.get_client(write=True).publish(_redis_key(backend, CHANNEL), json.dumps({"resync": True}))


def _lifetime_seconds() -> float:
    conf = token_settings()
    return (conf.access_ttl + conf.leeway).total_seconds()


def expiries(session_ids: Iterable[Any], *, expires_at: float) -> dict[str, float]:
    return dict.fromkeys((str(session_id) for session_id in session_ids), expires_at)


# --- this process's mirror ----------------------------------------------------------------

_mirrors: dict[tuple[Any, ...], DenylistMirror] = {}


@forget_when_settings_change
@functools.cache
def denylist_mirror() -> DenylistMirror | None:
    """This process's mirror for the configured cache, started on first use; None without Redis or when off."""
    conf = token_settings()
    if not (conf.session_denylist and conf.denylist_mirror):
        return None
    backend = default_cache()
    if not isinstance(backend, RedisCache):
        return None
    where = (tuple(backend._servers), backend.key_prefix, backend.version)  # type: ignore[attr-defined]
    mirror = _mirrors.get(where)
    if mirror is None:
        mirror = _mirrors[where] = DenylistMirror()
        mirror.start()
    return mirror


def _forget_after_fork() -> None:
    # A forked child has no thread of its parent's: its first check starts its own mirror.
    _mirrors.clear()
    denylist_mirror.cache_clear()


os.register_at_fork(after_in_child=_forget_after_fork)
