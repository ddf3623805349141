"""Device tokens: a client's proof that it signed in to an account before (OWASP's device cookies).

A successful password sign-in hands the client a token signed with SECRET_KEY naming the
user and a random device id: an HttpOnly cookie for browsers, `device_token` in the body for
native apps, which send it back in the body. A client presenting a valid one for the account
it signs in to is counted per device, not per address, so that a botnet guessing at the
address cannot lock that client out; a client without one is (accounts.throttling).
"""

import secrets
from dataclasses import dataclass

from django.core import signing

from accounts.conf import account_settings

DEVICE_COOKIE = "device"
_SALT = "accounts.devices"


@dataclass(frozen=True)
class Device:
    user_id: int
    device_id: str


def device_token_issue(*, user_id: int) -> str:
    return signing.dumps({"u": user_id, "d": secrets.token_urlsafe(12)}, salt=_SALT)


def device_token_read(token: str | None) -> Device | None:
    """The device a token names, if it is ours, intact and younger than ACCOUNTS_DEVICE_TOKEN_DAYS."""
    if not token:
        return None
    max_age = account_settings().device_token_ttl
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.BadSignature:  # tampered, foreign or expired (SignatureExpired is one)
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int) or not isinstance(payload.get("d"), str):
        return None
    return Device(user_id=payload["u"], device_id=payload["d"])
