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

Failure, per use (docs/operations.md): the check fails closed, so a cache that cannot be
read answers 503 rather than letting a possibly revoked token through; ending a session
writes the database first, and the entry after.

With Redis, each process also keeps a mirror of the copy in memory (tokens/mirror.py): the
check asks it first and reads the cache only when the mirror cannot prove it is current.
Every write here also feeds the mirrors (an index to load from, a message to follow).
"""

import math
import time
from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from django.utils import timezone

from core.cache import default_cache
from core.outages import CACHE_ERRORS
from tokens import mirror
from tokens.conf import token_settings
from tokens.models import Session

_PREFIX = "tokens:ended-session:"
# Present while the cache holds every entry the database implies (see the module docstring).
REBUILT_MARKER = "tokens:denylist:rebuilt"


class _ProcessState:
    # Set when this process failed to write an entry: its next check rebuilds.
    write_failed = False


def _key(session_id: UUID | str) -> str:
    return f"{_PREFIX}{session_id}"


def _lifetime() -> timedelta:
    conf = token_settings()
    return conf.access_ttl + conf.leeway


def deny_sessions(session_ids: Iterable[UUID]) -> None:
    """Denies sessions whose end is already committed to the database."""
    if not token_settings().session_denylist:
        return
    session_ids = list(session_ids)
    keys = {_key(session_id): 1 for session_id in session_ids}
    if not keys:
        return
    lifetime = _lifetime().total_seconds()
    try:
        default_cache().set_many(keys, timeout=int(lifetime))
        mirror.publish_denied(mirror.expiries(session_ids, expires_at=time.time() + lifetime))
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
    mirror.publish_denied(expiries)
    denylist_mark_complete()
    mirror.publish_resync()
    return {key.removeprefix(_PREFIX) for keys in by_timeout.values() for key in keys}


def denylist_mark_complete() -> None:
    """Records that the cache holds every entry the database implies (after a rebuild; in tests, an empty one)."""
    default_cache().set(REBUILT_MARKER, 1, timeout=None)
    _ProcessState.write_failed = False


def is_session_denied(session_id: UUID | str) -> bool:
    """Whether the session has ended: from this process's mirror when it is current, else one cache read.

    A cache read adds a rebuild when the copy may be incomplete.
    """
    process_mirror = mirror.denylist_mirror()
    if process_mirror is not None and not _ProcessState.write_failed:
        denied = process_mirror.is_denied(str(session_id))
        if denied is not None:
            return denied
    key = _key(session_id)
    found = default_cache().get_many([key, REBUILT_MARKER])
    if REBUILT_MARKER not in found or _ProcessState.write_failed:
        return str(session_id) in denylist_rebuild()
    return key in found
