"""PyJWT: encoding and verification, with the key the token's `kid` names (tokens/keys.py).

Verification follows RFC 8725: each key's algorithm is pinned by the key set (never read
from the token, never "none"), `typ` is checked so that one kind of token cannot stand in
for another (§3.11), and issuer, audience and the time claims are required. A token is
verified only with a key of our own set: the `jku`, `x5u`, `jwk` and `x5c` headers, which
would let a token name its own key, are refused outright, never followed.
"""

import base64
import binascii
import json
import time
from enum import StrEnum
from typing import Any

import jwt
from django.utils.translation import gettext_lazy as _

from tokens import keys
from tokens.conf import token_settings
from tokens.errors import SigningKeyMissing, TokenExpired, TokenInvalid


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
_TIME_CLAIMS = ("exp", "iat", "nbf")
# The last second a datetime can hold (9999-12-31T23:59:59Z): a later `exp` cannot be a real one.
_LATEST_NUMERIC_DATE = 253_402_300_799


# Headers by which a token would choose its own verification key (RFC 7515 §4.1.2-6).
_KEY_SOURCE_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})


def encode(claims: dict[str, Any], *, token_type: TokenType) -> str:
    key = keys.key_set().signing_key()
    if key is None:
        raise SigningKeyMissing()
    return jwt.encode(
        {**claims, "token_type": token_type.value},
        key.signing,
        algorithm=key.algorithm,
        headers={"typ": HEADER_TYPES[token_type], "kid": key.kid},
    )


def _unverified_header(token: str) -> dict[str, Any]:
    """The header alone, to choose the key. PyJWT's get_unverified_header decodes the payload
    and signature too, which PyJWT's verification then does again: 60% of a bare HS256 decode.
    Same base64url decoding as PyJWT's, and the signature covers these bytes."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise TokenInvalid(_("The token is malformed.")) from None
    if not isinstance(header, dict):
        raise TokenInvalid(_("The token is malformed."))
    return header


def _verifying_key(token: str) -> keys.Key:
    """The key of our set that the token's `kid` names, chosen before any signature is checked."""
    header = _unverified_header(token)
    if _KEY_SOURCE_HEADERS & header.keys():
        raise TokenInvalid(_("The token names its own key; this API verifies only with its own keys."))
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise TokenInvalid(_("The token has no `kid`."))
    return _key_of_set(kid)


def _key_of_set(kid: str) -> keys.Key:
    key = keys.verifying_key(kid)
    if key is None:
        raise TokenInvalid(_("The token's key (`kid`) is not one of this API's keys."))
    return key


def decode(token: str, *, token_type: TokenType) -> dict[str, Any]:
    """Verified claims of a token of `token_type`, or TokenExpired / TokenInvalid."""
    return verify(token, token_type=token_type)[1]


def pyjwt_decode_options(key: keys.Key) -> dict[str, Any]:
    """What PyJWT's decode is given besides the token and the key: the key's pinned algorithm, the
    issuer, audience and leeway of the settings, the required claims. `make bench` verifies with
    PyJWT alone on the same terms (tools/bench/verify_cost.py)."""
    conf = token_settings()
    return {
        "algorithms": [key.algorithm],
        "audience": conf.audience,
        "issuer": conf.issuer,
        "leeway": conf.leeway,
        "options": {"require": list(REQUIRED_CLAIMS)},
    }


def verify(token: str, *, token_type: TokenType) -> tuple[str, dict[str, Any]]:
    """(kid, claims) of a valid token of `token_type`: `decode` with the key that verified it."""
    key = _verifying_key(token)
    try:
        decoded = jwt.decode_complete(token, key.verifying, **pyjwt_decode_options(key))
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.ImmatureSignatureError:
        raise TokenInvalid(_("The token is not valid yet.")) from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenInvalid(_("The token has no `%(claim)s` claim.") % {"claim": exc.claim}) from None
    except jwt.InvalidAudienceError:
        raise TokenInvalid(_("The token is meant for another audience.")) from None
    except jwt.InvalidIssuerError:
        raise TokenInvalid(_("The token was issued by someone else.")) from None
    except jwt.InvalidSignatureError:
        raise TokenInvalid(_("The token's signature does not match.")) from None
    except jwt.InvalidAlgorithmError:
        raise TokenInvalid(_("The token is signed with an algorithm this API does not accept.")) from None
    except jwt.PyJWTError:
        raise TokenInvalid(_("The token is malformed.")) from None

    typ, claims = decoded["header"].get("typ"), decoded["payload"]
    _check_time_claims(claims)
    if (
        not isinstance(typ, str)
        or typ not in _ACCEPTED_HEADER_TYPES[token_type]
        or claims.get("token_type") != token_type
    ):
        raise TokenInvalid(_("The token's type is not `%(type)s`.") % {"type": token_type.value})
    return key.kid, claims


def _check_time_claims(claims: dict[str, Any]) -> None:
    """Refuses time claims that PyJWT lets through: it reads them with int(), so a numeric
    string, a float or 1e30 passes, and adding to `exp` or making a datetime of it would be a 500."""
    for name in _TIME_CLAIMS:
        value = claims.get(name, 0)
        if type(value) is not int or not 0 <= value <= _LATEST_NUMERIC_DATE:
            raise TokenInvalid(_("The token's `%(name)s` claim is not a NumericDate.") % {"name": name})


def check_access_current(*, kid: str, exp: int) -> None:
    """What a remembered access token is checked for again on each use: its key is still in the set
    (a key removed from it stops its tokens at once), and it has not expired since it was verified."""
    _key_of_set(kid)
    if exp + token_settings().leeway.total_seconds() <= time.time():
        raise TokenExpired()


def peek_token_type(token: str) -> TokenType | None:
    """The kind a token claims to be, from its unverified header; only to choose what to verify it as."""
    try:
        typ = _unverified_header(token).get("typ")
    except TokenInvalid:
        return None
    if not isinstance(typ, str):
        return None
    for token_type, accepted in _ACCEPTED_HEADER_TYPES.items():
        if typ in accepted:
            return token_type
    return None
