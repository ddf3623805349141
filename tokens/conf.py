"""The tokens app's settings, declared and validated in one form (core.conf.AppSettings)."""

import re
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, get_args

from django.utils.module_loading import import_string
from pydantic import BeforeValidator, Field, model_validator

from core.conf import AppSettings, Seconds, ZeroIsNone, refused, settings_accessor

if TYPE_CHECKING:
    from core.models import User

    ExtraClaims = Callable[[User], dict[str, Any]]
else:
    # What pydantic checks of the hook: that it is callable (the user model is not importable here).
    ExtraClaims = Callable[..., dict[str, Any]]

# RFC 8725 §3.1: a fixed list, never "none", never chosen by the token.
Algorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
SUPPORTED_ALGORITHMS = frozenset(get_args(Algorithm))


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


def _introspection_clients(entries: Any) -> Any:
    """`client_id:<SHA-256 hex of the secret>` entries as client id -> its digests."""
    if not isinstance(entries, list | tuple):
        return entries  # the dict type refuses it
    clients: dict[str, set[str]] = {}
    for entry in entries:
        client_id, _, digest = entry.partition(":") if isinstance(entry, str) else ("", "", "")
        if not client_id or not re.fullmatch(r"[0-9a-f]{64}", digest):
            # Never echo the entry: it might be a secret pasted where its hash belongs.
            raise refused("entries must be `client_id:<SHA-256 of the secret, 64 hex digits>`")
        clients.setdefault(client_id, set()).add(digest)
    return clients


def _extra_claims_hook(path: Any) -> Any:
    """The dotted path's function, or None when the setting is empty."""
    if not path or not isinstance(path, str):
        return path or None
    try:
        return import_string(path)
    except ImportError as exc:
        raise refused("{path} cannot be imported: {reason}", path=repr(path), reason=str(exc)) from None


class TokenSettings(AppSettings):
    access_ttl: Seconds = Field(alias="JWT_ACCESS_TTL")
    refresh_ttl: Seconds = Field(alias="JWT_REFRESH_TTL")
    session_max_age: Seconds = Field(alias="JWT_SESSION_MAX_AGE")
    issuer: str = Field(alias="JWT_ISSUER")
    audience: str = Field(alias="JWT_AUDIENCE")
    leeway: Seconds = Field(alias="JWT_LEEWAY")
    algorithm: Algorithm = Field(alias="JWT_ALGORITHM")
    # No fallback to SECRET_KEY here: tokens.keys decides, and only with DEBUG on (docs/keys.md).
    signing_key: str = Field(alias="JWT_SIGNING_KEY", repr=False)
    verifying_key: str = Field(alias="JWT_VERIFYING_KEY")
    # 0 would re-read the key set on every request (the rules between these four are below).
    key_set_max_age: Seconds = Field(alias="JWT_KEY_SET_MAX_AGE", ge=timedelta(seconds=1))
    key_activation_delay: Seconds = Field(alias="JWT_KEY_ACTIVATION_DELAY")
    jwks_max_age: Seconds = Field(alias="JWT_JWKS_MAX_AGE", ge=timedelta(seconds=1))
    # 0: keys are not rotated on a schedule.
    key_rotation_period: Annotated[Seconds | None, ZeroIsNone] = Field(alias="JWT_KEY_ROTATION_PERIOD")
    key_encryption_keys: tuple[str, ...] = Field(alias="JWT_KEY_ENCRYPTION_KEYS", repr=False)
    # RFC 7662 callers: client id -> the SHA-256 hex digests of its secrets (tokens/introspection.py).
    introspection_clients: Annotated[dict[str, frozenset[str]], BeforeValidator(_introspection_clients)] = Field(
        alias="JWT_INTROSPECTION_CLIENTS", repr=False
    )
    session_denylist: bool = Field(alias="JWT_SESSION_DENYLIST")
    denylist_mirror: bool = Field(alias="JWT_DENYLIST_MIRROR")
    extra_claims: Annotated[ExtraClaims | None, BeforeValidator(_extra_claims_hook)] = Field(alias="JWT_EXTRA_CLAIMS")
    refresh_transport: RefreshTransport = Field(alias="JWT_REFRESH_TRANSPORT")
    # 0: strict, a refresh token spent once is spent.
    refresh_reuse_interval: Seconds = Field(alias="JWT_REFRESH_REUSE_INTERVAL", ge=timedelta(0))
    max_sessions_per_user: int = Field(alias="JWT_MAX_SESSIONS_PER_USER", ge=1)
    # Origins besides the API's own whose requests may use the refresh cookie.
    cookie_origins: frozenset[str] = Field(alias="CORS_ALLOWED_ORIGINS")

    @model_validator(mode="after")
    def _key_lifetimes(self) -> Self:
        if not self.key_set_max_age < self.access_ttl:
            # A copy of the key set as old as an access token's lifetime would keep a deleted
            # key's tokens alive for that long (docs/keys.md).
            raise refused("JWT_KEY_SET_MAX_AGE must be shorter than JWT_ACCESS_TTL")
        if not self.key_set_max_age < self.key_activation_delay:
            # Every process must know a new key before it signs, or it would refuse the new key's tokens.
            raise refused("JWT_KEY_ACTIVATION_DELAY must be longer than JWT_KEY_SET_MAX_AGE")
        if not self.jwks_max_age < self.key_activation_delay:
            # A verifier that caches the JWKS as told must fetch a new key before that key signs.
            raise refused("JWT_JWKS_MAX_AGE must be shorter than JWT_KEY_ACTIVATION_DELAY")
        if self.key_rotation_period is not None and self.key_rotation_period <= self.key_activation_delay:
            # A schedule shorter than the delay would make a key before the last one made signs.
            raise refused("JWT_KEY_ROTATION_PERIOD must be 0 (off) or longer than JWT_KEY_ACTIVATION_DELAY")
        return self

    @property
    def is_hmac(self) -> bool:
        return self.algorithm.startswith("HS")


token_settings = settings_accessor(TokenSettings.from_django_settings)
