"""Ended sessions, remembered in the cache for as long as their access tokens can live.

Access tokens are verified without the database, so ending a session cannot reach the ones
already issued. With JWT_SESSION_DENYLIST on, ending a session writes its id here and the
bearer check makes one cache read per request; the entry expires when the last access token
of the session would have (access TTL plus leeway), so the cache never grows past that.
"""

from collections.abc import Iterable
from uuid import UUID

from django.core.cache import cache

from tokens.conf import token_settings

_PREFIX = "tokens:ended-session:"


def _key(session_id: UUID | str) -> str:
    return f"{_PREFIX}{session_id}"


def deny_sessions(session_ids: Iterable[UUID]) -> None:
    conf = token_settings()
    if not conf.session_denylist:
        return
    keys = {_key(session_id): 1 for session_id in session_ids}
    if keys:
        cache.set_many(keys, timeout=int((conf.access_ttl + conf.leeway).total_seconds()))


def is_session_denied(session_id: UUID | str) -> bool:
    return cache.get(_key(session_id)) is not None
