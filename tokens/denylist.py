"""Ended sessions, remembered in the cache for as long as their access tokens can live.

Access tokens are verified without the database, so ending a session cannot reach the ones
already issued. With JWT_SESSION_DENYLIST on, ending a session writes its id here and the
bearer check makes one cache read per request; the entry expires when the last access token
of the session would have (access TTL plus leeway), so the cache never grows past that.

The database is the record, the cache a copy. A cache that restarts empty, is flushed or
missed a write (it was down when a logout committed) must not bring a logged-out token
back, so the copy carries a marker: a key without expiry written after each rebuild. A
check that finds no marker, or runs in a process that failed to write an entry, rebuilds
the copy from the database first (the sessions ended within the last access-token
lifetime), then answers. Between rebuilds the check stays one cache round trip.

Rebuilds are coalesced per process: the checks that find the marker missing at the same
moment share one rebuild (and its one resync message), and a process starts at most one per
REBUILD_INTERVAL; a check that needs a newer one within it asks the database about its own
session alone.

Failure, per use (docs/operations.md): the check fails closed, so a cache that cannot be
read answers 503 rather than letting a possibly revoked token through; ending a session
writes the database first, and the entry after.

With Redis, each process also keeps a mirror of the copy in memory (tokens/mirror.py): the
check asks it first and reads the cache only when the mirror cannot prove it is current.
Ending a session also feeds the mirrors, and returns only once every one of them refuses the
session (or provably reads the cache instead): what makes a logout immediate everywhere.
"""

import atexit
import functools
import logging
import math
import os
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.utils import timezone

from core.cache import RedisCache, default_cache
from core.conf import forget_when_settings_change
from core.outages import CACHE_ERRORS
from tokens import mirror
from tokens.conf import token_settings
from tokens.models import Session

logger = logging.getLogger(__name__)

_PREFIX = "tokens:ended-session:"
# Present while the cache holds every entry the database implies (see the module docstring).
REBUILT_MARKER = "tokens:denylist:rebuilt"
# A process starts at most one rebuild per this many seconds (a restarted Redis is found
# missing its marker by every check in flight at once).
REBUILD_INTERVAL = 5.0


class _ProcessState:
    # Set when this process failed to write an entry: its next check rebuilds.
    write_failed = False


class _Rebuilds:
    """This process's last rebuild: when it began (time.monotonic()) and what it found."""

    lock = threading.Lock()
    began_at = -math.inf
    completed_began_at = -math.inf  # when the last rebuild that completed began (a failed one sets only began_at)
    ended: frozenset[str] = frozenset()
    count = 0  # rebuilds this process made (tests read it)


def _key(session_id: UUID | str) -> str:
    return f"{_PREFIX}{session_id}"


def _lifetime() -> timedelta:
    conf = token_settings()
    return conf.access_ttl + conf.leeway


def deny_sessions(session_ids: Iterable[UUID]) -> None:
    """Denies sessions whose end is already committed to the database.

    Returns once this process and every other one refuse them (tokens.mirror.publish_denied).
    """
    if not token_settings().session_denylist:
        return
    session_ids = list(session_ids)
    keys = {_key(session_id): 1 for session_id in session_ids}
    if not keys:
        return
    lifetime = _lifetime().total_seconds()
    try:
        default_cache().set_many(keys, timeout=int(lifetime))
        mirror.publish_denied(session_ids, expires_at=time.time() + lifetime, lifetime=lifetime, own=_running_mirror())
    except CACHE_ERRORS:
        _ProcessState.write_failed = True
        raise


def denylist_rebuild() -> set[str]:
    """Writes an entry for every session ended within the last access-token lifetime; returns their ids.

    One query. Each entry lives for what remains of its session's lifetime, rounded up to
    the minute so that the writes are a few set_many calls, not one per session.
    Idempotent, so processes that rebuild at the same moment do no harm.
    """
    now = timezone.now()
    lifetime = _lifetime()
    ended = Session.objects.filter(ended_at__gt=now - lifetime).values_list("id", "ended_at")
    by_timeout: dict[int, dict[str, int]] = {}
    expiries: dict[str, float] = {}
    for session_id, ended_at in ended:
        assert ended_at is not None  # filtered on
        remaining = math.ceil((ended_at + lifetime - now).total_seconds() / 60) * 60
        by_timeout.setdefault(remaining, {})[_key(session_id)] = 1
        expiries[str(session_id)] = (ended_at + lifetime).timestamp()
    for timeout, keys in by_timeout.items():
        default_cache().set_many(keys, timeout=timeout)
    mirror.index_add(expiries, lifetime=lifetime.total_seconds())
    denylist_mark_complete()
    mirror.publish_resync()
    logger.warning("denylist rebuilt from the database by process %d: %d ended sessions", os.getpid(), len(expiries))
    return set(expiries)


def _rebuilt_since(checked_at: float, *, whatever_the_interval: bool = False) -> frozenset[str] | None:
    """The sessions ended as of a rebuild begun after `checked_at` (a time.monotonic()), made if need be.

    None when a rebuild would be needed but this process began one within REBUILD_INTERVAL. With
    `whatever_the_interval`, never None: the rebuild is made unless one begun after `checked_at` completed.
    """
    with _Rebuilds.lock:
        # Another check's rebuild, begun after this one looked; forced, only one that completed.
        if (_Rebuilds.completed_began_at if whatever_the_interval else _Rebuilds.began_at) > checked_at:
            return _Rebuilds.ended
        began_at = time.monotonic()
        if began_at - _Rebuilds.began_at < REBUILD_INTERVAL and not whatever_the_interval:
            return None
        # Set before the rebuild runs: one that fails is not retried by every check at once.
        _Rebuilds.began_at = began_at
        _Rebuilds.ended = frozenset(denylist_rebuild())
        _Rebuilds.completed_began_at = began_at
        _Rebuilds.count += 1
        return _Rebuilds.ended


def denylist_mark_complete() -> None:
    """Records that the cache holds every entry the database implies (after a rebuild; in tests, an empty one)."""
    default_cache().set(REBUILT_MARKER, 1, timeout=None)
    _ProcessState.write_failed = False


def is_session_denied(session_id: UUID | str) -> bool:
    """Whether the session has ended: from this process's mirror when it is current, else one cache read.

    A cache read adds a rebuild (coalesced, see the module docstring) when the copy may be incomplete.
    """
    process_mirror = denylist_mirror()
    if process_mirror is not None and not _ProcessState.write_failed:
        denied = process_mirror.is_denied(str(session_id))
        if denied is not None:
            return denied
    key = _key(session_id)
    checked_at = time.monotonic()
    found = default_cache().get_many([key, REBUILT_MARKER])
    if key in found:
        return True
    if REBUILT_MARKER in found and not _ProcessState.write_failed:
        return False
    ended = _rebuilt_since(checked_at)
    if ended is None:
        return Session.objects.filter(id=session_id, ended_at__isnull=False).exists()
    return str(session_id) in ended


def _ensure_complete(server_changed_since: float | None) -> None:
    """Before a mirror loads the snapshot: rebuilds the copy if the cache lost it, or is another server now.

    `server_changed_since`: when the mirror lost the server it last loaded from (a time.monotonic()),
    if the one answering now is another. A replica promoted by a failover holds the marker its
    primary had, but maybe not that primary's last entries, nor those a logout failed to write
    meanwhile: unless this process rebuilt since (a check that found a restarted Redis empty), it
    rebuilds now, whatever REBUILD_INTERVAL says, since its last rebuild may have gone to the lost server.
    """
    if server_changed_since is not None:
        _rebuilt_since(server_changed_since, whatever_the_interval=True)
        return
    checked_at = time.monotonic()
    if default_cache().get(REBUILT_MARKER) is None and _rebuilt_since(checked_at) is None:
        raise RuntimeError(f"the denylist was rebuilt less than {REBUILD_INTERVAL} s ago and is incomplete again")


# --- this process's mirror ----------------------------------------------------------------

_mirrors: dict[tuple[Any, ...], mirror.DenylistMirror] = {}


@forget_when_settings_change
@functools.cache
def denylist_mirror() -> mirror.DenylistMirror | None:
    """This process's mirror for the configured cache, started on first use; None without Redis or when off."""
    if not denylist_mirror_enabled():
        return None
    where = _where()
    if where is None:
        return None
    process_mirror = _mirrors.get(where)
    if process_mirror is None:
        process_mirror = _mirrors[where] = mirror.DenylistMirror(ensure_complete=_ensure_complete)
        process_mirror.start()
        # A worker that exits leaves the registry at once: publishers need not wait for it.
        atexit.register(process_mirror.stop, wait=False)
    return process_mirror


def _where() -> tuple[Any, ...] | None:
    backend = default_cache()
    if not isinstance(backend, RedisCache):
        return None
    return (tuple(backend._servers), backend.key_prefix, backend.version)  # type: ignore[attr-defined]


def _running_mirror() -> mirror.DenylistMirror | None:
    """This process's mirror if it runs; a process that only ends sessions (a command) starts none."""
    where = _where()
    return _mirrors.get(where) if where is not None and denylist_mirror_enabled() else None


def denylist_mirror_enabled() -> bool:
    conf = token_settings()
    return conf.session_denylist and conf.denylist_mirror


def _forget_after_fork() -> None:
    # A forked child has no thread of its parent's: its first check starts its own mirror.
    _mirrors.clear()
    denylist_mirror.cache_clear()
    _Rebuilds.lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
