"""The tokens app's settings, read through `token_settings()` (see core.conf)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from core.conf import settings_accessor

if TYPE_CHECKING:
    from core.models import User

# RFC 8725 §3.1: a fixed list, never "none", never chosen by the token.
SUPPORTED_ALGORITHMS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}
)


class RefreshTransport(StrEnum):
    BODY = "body"
    COOKIE = "cookie"
    BOTH = "both"

    @property
    def uses_cookie(self) -> bool:
        return self is not RefreshTransport.BODY

    @property
    def uses_body(self) -> bool:
        return self is not RefreshTransport.COOKIE


@dataclass(frozen=True)
class TokenSettings:
    access_ttl: timedelta
    refresh_ttl: timedelta
    session_max_age: timedelta
    issuer: str
    audience: str
    leeway: timedelta
    algorithm: str
    signing_key: str
    verifying_key: str
    key_set_max_age: timedelta
    key_activation_delay: timedelta
    jwks_max_age: timedelta
    key_rotation_period: timedelta | None
    key_encryption_keys: tuple[str, ...]
    # RFC 7662 callers: client id -> the SHA-256 hex digests of its secrets (tokens/introspection.py).
    introspection_clients: dict[str, frozenset[str]]
    session_denylist: bool
    denylist_mirror: bool
    extra_claims: Callable[["User"], dict[str, Any]] | None
    refresh_transport: RefreshTransport
    refresh_reuse_interval: timedelta
    max_sessions_per_user: int
    # Origins besides the API's own whose requests may use the refresh cookie (CORS_ALLOWED_ORIGINS).
    cookie_origins: frozenset[str]

    @property
    def is_hmac(self) -> bool:
        return self.algorithm.startswith("HS")


@settings_accessor
def token_settings() -> TokenSettings:
    if settings.JWT_ALGORITHM not in SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(
            f"JWT_ALGORITHM={settings.JWT_ALGORITHM!r} is not one of {sorted(SUPPORTED_ALGORITHMS)}"
        )
    if settings.JWT_REFRESH_TRANSPORT not in set(RefreshTransport):
        raise ImproperlyConfigured(
            f"JWT_REFRESH_TRANSPORT={settings.JWT_REFRESH_TRANSPORT!r} is not one of {sorted(RefreshTransport)}"
        )
    if settings.JWT_REFRESH_REUSE_INTERVAL < 0:
        raise ImproperlyConfigured("JWT_REFRESH_REUSE_INTERVAL must be 0 (strict) or a positive number of seconds.")
    if settings.JWT_MAX_SESSIONS_PER_USER < 1:
        raise ImproperlyConfigured("JWT_MAX_SESSIONS_PER_USER must be at least 1.")
    if not 1 <= settings.JWT_KEY_SET_MAX_AGE < settings.JWT_ACCESS_TTL:
        # 0 would re-read the key set on every request; a copy as old as an access token's
        # lifetime would keep a deleted key's tokens alive for that long (docs/keys.md).
        raise ImproperlyConfigured("JWT_KEY_SET_MAX_AGE must be at least 1 second and shorter than JWT_ACCESS_TTL.")
    if not settings.JWT_KEY_SET_MAX_AGE < settings.JWT_KEY_ACTIVATION_DELAY:
        # Every process must know a new key before it signs, or it would refuse the new key's tokens.
        raise ImproperlyConfigured("JWT_KEY_ACTIVATION_DELAY must be longer than JWT_KEY_SET_MAX_AGE.")
    if not 1 <= settings.JWT_JWKS_MAX_AGE < settings.JWT_KEY_ACTIVATION_DELAY:
        # A verifier that caches the JWKS as told must fetch a new key before that key signs.
        raise ImproperlyConfigured(
            "JWT_JWKS_MAX_AGE must be at least 1 second and shorter than JWT_KEY_ACTIVATION_DELAY."
        )
    if settings.JWT_KEY_ROTATION_PERIOD and settings.JWT_KEY_ROTATION_PERIOD <= settings.JWT_KEY_ACTIVATION_DELAY:
        raise ImproperlyConfigured("JWT_KEY_ROTATION_PERIOD must be 0 (off) or longer than JWT_KEY_ACTIVATION_DELAY.")
    return TokenSettings(
        access_ttl=timedelta(seconds=settings.JWT_ACCESS_TTL),
        refresh_ttl=timedelta(seconds=settings.JWT_REFRESH_TTL),
        session_max_age=timedelta(seconds=settings.JWT_SESSION_MAX_AGE),
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        leeway=timedelta(seconds=settings.JWT_LEEWAY),
        algorithm=settings.JWT_ALGORITHM,
        # No fallback to SECRET_KEY here: tokens.keys decides, and only with DEBUG on (docs/keys.md).
        signing_key=settings.JWT_SIGNING_KEY,
        verifying_key=settings.JWT_VERIFYING_KEY,
        key_set_max_age=timedelta(seconds=settings.JWT_KEY_SET_MAX_AGE),
        key_activation_delay=timedelta(seconds=settings.JWT_KEY_ACTIVATION_DELAY),
        jwks_max_age=timedelta(seconds=settings.JWT_JWKS_MAX_AGE),
        key_rotation_period=timedelta(seconds=settings.JWT_KEY_ROTATION_PERIOD)
        if settings.JWT_KEY_ROTATION_PERIOD
        else None,
        key_encryption_keys=tuple(settings.JWT_KEY_ENCRYPTION_KEYS),
        introspection_clients=_introspection_clients(settings.JWT_INTROSPECTION_CLIENTS),
        session_denylist=settings.JWT_SESSION_DENYLIST,
        denylist_mirror=settings.JWT_DENYLIST_MIRROR,
        extra_claims=_extra_claims_hook(),
        refresh_transport=RefreshTransport(settings.JWT_REFRESH_TRANSPORT),
        refresh_reuse_interval=timedelta(seconds=settings.JWT_REFRESH_REUSE_INTERVAL),
        max_sessions_per_user=settings.JWT_MAX_SESSIONS_PER_USER,
        cookie_origins=frozenset(settings.CORS_ALLOWED_ORIGINS),
    )


def _extra_claims_hook() -> Callable[["User"], dict[str, Any]] | None:
    if not settings.JWT_EXTRA_CLAIMS:
        return None
    try:
        return import_string(settings.JWT_EXTRA_CLAIMS)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"JWT_EXTRA_CLAIMS={settings.JWT_EXTRA_CLAIMS!r} cannot be imported: {exc}"
        ) from None


def _introspection_clients(entries: list[str]) -> dict[str, frozenset[str]]:
    clients: dict[str, set[str]] = {}
    for entry in entries:
        client_id, _, digest = entry.partition(":")
        if not client_id or not re.fullmatch(r"[0-9a-f]{64}", digest):
            # Never echo the entry: it might be a secret pasted where its hash belongs.
            raise ImproperlyConfigured(
                "JWT_INTROSPECTION_CLIENTS entries must be `client_id:<SHA-256 of the secret, 64 hex digits>`."
            )
        clients.setdefault(client_id, set()).add(digest)
    return {client_id: frozenset(digests) for client_id, digests in clients.items()}
