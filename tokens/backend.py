"""The only module that imports PyJWT: signing keys, encoding and verification.

Verification follows RFC 8725: the algorithm list is pinned from settings (never read from
the token), `typ` is checked so that one kind of token cannot stand in for another
(§3.11), and issuer, audience and the time claims are required.
"""

import functools
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from core.conf import forget_when_settings_change, settings_accessor
from tokens.conf import token_settings
from tokens.errors import TokenExpired, TokenInvalid


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


# The `typ` header of each kind. RFC 9068 §2.1 names at+jwt; refresh tokens get their own.
HEADER_TYPES = {TokenType.ACCESS: "at+jwt", TokenType.REFRESH: "rt+jwt"}
_ACCEPTED_HEADER_TYPES = {
    TokenType.ACCESS: {"at+jwt", "application/at+jwt"},
    TokenType.REFRESH: {"rt+jwt"},
}
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")
# How many verified access tokens each process remembers (see decode_access).
VERIFIED_ACCESS_TOKENS_CACHED = 4096


@dataclass(frozen=True)
class _Keys:
    signing: Any
    verifying: Any


@settings_accessor
def _keys() -> _Keys:
    """Parses the configured keys once; for asymmetric algorithms the public half verifies."""
    conf = token_settings()
    algorithm = get_default_algorithms()[conf.algorithm]
    signing = algorithm.prepare_key(conf.signing_key)
    if conf.verifying_key:
        verifying = algorithm.prepare_key(conf.verifying_key)
    elif conf.is_hmac:
        verifying = signing
    else:
        verifying = signing.public_key()
    return _Keys(signing=signing, verifying=verifying)


def encode(claims: dict[str, Any], *, token_type: TokenType) -> str:
    return jwt.encode(
        {**claims, "token_type": token_type.value},
        _keys().signing,
        algorithm=token_settings().algorithm,
        headers={"typ": HEADER_TYPES[token_type]},
    )


def decode(token: str, *, token_type: TokenType) -> dict[str, Any]:
    """Verified claims of a token of `token_type`, or TokenExpired / TokenInvalid."""
    conf = token_settings()
    try:
        decoded = jwt.decode_complete(
            token,
            _keys().verifying,
            algorithms=[conf.algorithm],
            audience=conf.audience,
            issuer=conf.issuer,
            leeway=conf.leeway,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.ImmatureSignatureError:
        raise TokenInvalid("The token is not valid yet.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenInvalid(f"The token has no `{exc.claim}` claim.") from None
    except jwt.InvalidAudienceError:
        raise TokenInvalid("The token is meant for another audience.") from None
    except jwt.InvalidIssuerError:
        raise TokenInvalid("The token was issued by someone else.") from None
    except jwt.InvalidSignatureError:
        raise TokenInvalid("The token's signature does not match.") from None
    except jwt.InvalidAlgorithmError:
        raise TokenInvalid("The token is signed with an algorithm this API does not accept.") from None
    except jwt.PyJWTError:
        raise TokenInvalid("The token is malformed.") from None

    header, claims = decoded["header"], decoded["payload"]
    if header.get("typ") not in _ACCEPTED_HEADER_TYPES[token_type] or claims.get("token_type") != token_type:
        raise TokenInvalid(f"The token's type is not `{token_type.value}`.")
    return claims


@forget_when_settings_change
@functools.lru_cache(maxsize=VERIFIED_ACCESS_TOKENS_CACHED)
def _verified_access_claims(token: str) -> dict[str, Any]:
    return decode(token, token_type=TokenType.ACCESS)


def decode_access(token: str) -> dict[str, Any]:
    """`decode` for access tokens on the request path, remembering the ones it has verified.

    A client sends the same access token with every request until it expires, so each
    process verifies a token once and afterwards only rechecks its expiry. Only valid
    tokens are remembered (lru_cache keeps no exceptions), the cache is bounded and is
    dropped when settings, and so keys, change. Revocation is not cached: the denylist
    is read on every request.
    """
    claims = _verified_access_claims(token)
    if claims["exp"] + token_settings().leeway.total_seconds() <= time.time():
        raise TokenExpired()
    return dict(claims)


def peek_token_type(token: str) -> TokenType | None:
    """The kind a token claims to be, from its unverified header; only to choose what to verify it as."""
    try:
        typ = jwt.get_unverified_header(token).get("typ")
    except jwt.PyJWTError:
        return None
    for token_type, accepted in _ACCEPTED_HEADER_TYPES.items():
        if typ in accepted:
            return token_type
    return None
