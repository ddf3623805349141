"""Device tokens: a client's proof that it signed in to an account before (OWASP's device cookies).

A successful sign-in by password, emailed code, provider or passkey (once its second factor is proven,
if the user has one: mfa keeps whether the device was new for that step) hands the client a token
signed with SECRET_KEY naming the user and a random device id: an HttpOnly cookie for browsers,
`device_token` in the body for native apps, which send it back in the body. A client presenting a
valid one for the account it signs in to is counted per device, not per address, so that a botnet
guessing at the address cannot lock that client out; a client without one is (accounts.throttling).
"""

import secrets
from dataclasses import dataclass

from django.core import signing

from accounts.conf import account_settings
from accounts.notices import notice_send
from tokens.services import TokenPair

DEVICE_COOKIE = "device"
_SALT = "accounts.devices"


@dataclass(frozen=True)
class Device:
    user_id: int
    device_id: str


def device_token_issue(*, user_id: int) -> str:
    return signing.dumps({"u": user_id, "d": secrets.token_urlsafe(12)}, salt=_SALT)


@dataclass(frozen=True)
class SignIn:
    tokens: TokenPair
    # For the client to keep and send back; None for a sign-in that hands out none (a provider's).
    device_token: str | None


def device_is_new(device: Device | None, *, user_id: int) -> bool:
    """A device is known by the device token of an earlier sign-in of this user (the `device` cookie
    of a browser, `device_token` of an app); a client without one, or with another account's, is new."""
    return device is None or device.user_id != user_id


def device_signed_in(*, user_id: int, new: bool, ip: str | None) -> str:
    """A device token for the client that just signed in (its second step done, if it needed one); a
    notice if its device is new. The notice names the client's IP address, not its User-Agent: no email
    carries text a stranger wrote."""
    if new:
        notice_send(user_id=user_id, kind="new_device", ip=ip or "")
    return device_token_issue(user_id=user_id)


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
