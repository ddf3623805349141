"""The client secret Apple takes: a short-lived ES256 JWT signed with the app's .p8 key."""

import hashlib
import threading
import time

from django.utils.translation import gettext_lazy as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from social.errors import ProviderUnavailable
from social.providers.apple.settings import AppleSettings

# Apple accepts client secrets valid for up to six months; a short one limits what a leak gives.
APPLE_CLIENT_SECRET_TTL = 3600
# A secret this close to its expiry is not sent: a new one is signed.
APPLE_CLIENT_SECRET_RENEW_BEFORE = 300
APPLE_AUDIENCE = "https://appleid.apple.com"

_apple_secrets: dict[tuple[str, str, str, str], tuple[str, float]] = {}
_apple_secrets_lock = threading.Lock()


def apple_signing_key(pem: str) -> ECKey:
    """The .p8 key as an EC P-256 private key; ValueError when it is not one (social.E002)."""
    try:
        key = ECKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError("not a PEM EC private key") from exc
    if key.curve_name != "P-256" or not key.is_private:
        raise ValueError("not a P-256 private key")
    return key


def apple_client_secret(config: AppleSettings) -> str:
    """The ES256 JWT Apple takes as client secret, signed again shortly before it expires.

    Kept in this process only, never logged: it is a credential for Apple's token endpoint.
    """
    cache_key = (
        config.team_id,
        config.key_id,
        config.client_id,
        hashlib.sha256(config.private_key.encode()).hexdigest(),
    )
    now = time.time()
    with _apple_secrets_lock:
        secret, expires_at = _apple_secrets.get(cache_key, ("", 0.0))
        if expires_at - now > APPLE_CLIENT_SECRET_RENEW_BEFORE:
            return secret
        issued_at = int(now)
        claims = {
            "iss": config.team_id,
            "iat": issued_at,
            "exp": issued_at + APPLE_CLIENT_SECRET_TTL,
            "aud": APPLE_AUDIENCE,
            "sub": config.client_id,
        }
        try:
            key = apple_signing_key(config.private_key)
        except ValueError:
            raise ProviderUnavailable(_("Apple's client secret cannot be signed: see social.E002.")) from None
        secret = jwt.encode({"alg": "ES256", "kid": config.key_id}, claims, key, algorithms=["ES256"])
        _apple_secrets[cache_key] = (secret, float(issued_at + APPLE_CLIENT_SECRET_TTL))
        return secret
