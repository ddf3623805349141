"""RFC 7662 token introspection, for resource servers that must honour a logout at once.

A resource server verifying access tokens from the JWKS alone accepts a token until it
expires (up to JWT_ACCESS_TTL after a logout). One that cannot wait asks here: the answer
reads the session from the database, so a logout, a reuse detection or a deactivated user
shows as `{"active": false}` from the moment it is committed, on whichever process answers
(never a per-process mirror that might lag).

Callers authenticate with HTTP Basic (RFC 7662 §2.1) as one of JWT_INTROSPECTION_CLIENTS,
which holds SHA-256 digests of their secrets, never the secrets: the secrets are random
and long (`manage.py` makes none; docs/keys.md shows how), so a fast hash is enough and a
leaked setting authenticates nobody. Only access tokens are introspected: they are what a
resource server receives; anything else is `{"active": false}`, as RFC 7662 §2.2 answers for
whatever the server will not vouch for.
"""

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.throttling import Throttle
from tokens import backend, services
from tokens.backend import TokenType
from tokens.conf import token_settings
from tokens.errors import IntrospectionClientInvalid, TokenError
from tokens.models import Session

INACTIVE: dict[str, Any] = {"active": False}


def _caller(request: HttpRequest) -> str | None:
    """The client id the request authenticated as (Ninja's auth runs before the throttles)."""
    return getattr(request, "auth", None)


# Per resource server: one that loops cannot starve the others (API_THROTTLE_INTROSPECT).
introspection_throttle = Throttle("introspect", _caller)


def introspection_client_authenticate(request: HttpRequest) -> str:
    """The client id of the resource server whose HTTP Basic credentials the request carries."""
    scheme, _sep, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        raise IntrospectionClientInvalid(_("Send a resource server's client id and secret with HTTP Basic."))
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise IntrospectionClientInvalid(_("The Basic credentials are malformed.")) from None
    client_id, separator, secret = decoded.partition(":")
    digests = token_settings().introspection_clients.get(client_id, frozenset())
    digest = hashlib.sha256(secret.encode()).hexdigest()
    # Every digest of the id is compared, in constant time each: the loop's length is public (the
    # number of secrets an id has), the secret's likeness to any of them is not.
    matched = [hmac.compare_digest(digest, known) for known in digests]
    if not separator or not any(matched):
        raise IntrospectionClientInvalid(_("Unknown client id or wrong secret."))
    return client_id


def token_introspect(*, token: str) -> dict[str, Any]:
    """RFC 7662 §2.2: the claims of an active access token with `active: true`, else `{"active": false}`.

    Active: a valid signature by a key of the set, the access type, the issuer and audience,
    not expired (the server's own clock, no leeway), and a session that is live now in the
    database, of a user still active. One query, for a token that verifies.
    """
    if backend.peek_token_type(token) != TokenType.ACCESS:
        return INACTIVE
    try:
        principal = services.access_token_authenticate(token=token, check_denylist=False)
    except TokenError:
        return INACTIVE
    claims = principal.claims
    if claims["exp"] <= time.time():
        return INACTIVE
    live = Session.objects.filter(
        id=principal.session_id,
        user_id=principal.user_id,
        user__is_active=True,
        ended_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()
    if not live:
        return INACTIVE
    # RFC 7662's `token_type` is RFC 6749's (how the token is used); the claim of that name says
    # which of this API's tokens it is, and only access tokens get here.
    return {**claims, "active": True, "token_type": "Bearer"}
