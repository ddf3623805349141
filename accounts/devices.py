"""Device tokens: a client's proof that it signed in to an account before (OWASP's device cookies).

A successful sign-in by password, emailed code, provider or passkey (once its second factor is proven,
if the user has one: mfa keeps whether the device was new for that step) hands the client a token
signed with SECRET_KEY naming the user, a random device id and the user's password as it is then (an
HMAC of its hash): an HttpOnly cookie for browsers, `device_token` in the body for native apps, which
send it back in the body. A client presenting a valid one for the account it signs in to is counted per
device, not per address, so that a botnet guessing at the address cannot lock that client out; a client
without one is (accounts.throttling).

A password set, changed or reset forgets every device, as Django's reset links are spent by it: whoever
took a device token while they held the account keeps neither that exemption nor the owner's silence
(the new-device notice) once the owner has taken the account back.
"""

import secrets
from dataclasses import dataclass

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.conf import account_settings
from accounts.notices import notice_send
from core.models import User
from tokens.services import TokenPair

DEVICE_COOKIE = "device"
_SALT = "accounts.devices"


@dataclass(frozen=True)
class Device:
    user_id: int
    device_id: str
    # Of the user when the token was issued.
    password_fingerprint: str


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password hash does; an HMAC with SECRET_KEY, so that the token, which the
    client can read, tells nothing of the hash."""
    return salted_hmac(_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def device_token_issue(*, user: User) -> str:
    payload = {"u": user.pk, "d": secrets.token_urlsafe(12), "p": _password_fingerprint(user)}
    return signing.dumps(payload, salt=_SALT)


@dataclass(frozen=True)
class SignIn:
    tokens: TokenPair
    # For the client to keep and send back; None for a sign-in that hands out none (a provider's).
    device_token: str | None


def device_is_new(device: Device | None, *, user: User) -> bool:
    """A device is known by the device token of an earlier sign-in of this user since its password last
    changed (the `device` cookie of a browser, `device_token` of an app); a client without one, with
    another account's, or with one from before the password changed, is new."""
    return (
        device is None
        or device.user_id != user.pk
        or not constant_time_compare(device.password_fingerprint, _password_fingerprint(user))
    )


def device_signed_in(*, user: User, new: bool, ip: str | None) -> str:
    """A device token for the client that just signed in (its second step done, if it needed one); a
    notice if its device is new. The notice names the client's IP address, not its User-Agent: no email
    carries text a stranger wrote."""
    if new:
        notice_send(user_id=user.pk, kind="new_device", ip=ip or "")
    return device_token_issue(user=user)


def device_token_read(token: str | None) -> Device | None:
    """The device a token names, if it is ours, intact and younger than ACCOUNTS_DEVICE_TOKEN_DAYS."""
    if not token:
        return None
    max_age = account_settings().device_token_ttl
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.BadSignature:  # tampered, foreign or expired (SignatureExpired is one)
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    if not isinstance(payload.get("d"), str) or not isinstance(payload.get("p"), str):
        return None  # issued before tokens named the password: an unknown device
    return Device(user_id=payload["u"], device_id=payload["d"], password_fingerprint=payload["p"])
