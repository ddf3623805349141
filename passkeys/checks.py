"""Start-up checks of the WebAuthn settings: with the feature on, a server that does not know its
relying party refuses to start rather than accept assertions made for another site."""

import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, register

from passkeys.conf import passkey_settings

# Browsers treat these hosts as secure contexts over plain http.
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@register()
def passkey_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    conf = passkey_settings()
    if not conf.enabled:
        return []
    errors: list[CheckMessage] = []
    if not conf.rp_id or not conf.origins:
        errors.append(
            Error(
                "AUTH_WEBAUTHN is on but WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS is empty.",
                hint="Set WEBAUTHN_RP_ID=example.com and WEBAUTHN_ORIGINS=https://app.example.com, "
                "or turn WebAuthn off (AUTH_WEBAUTHN=0).",
                id="passkeys.E001",
            )
        )
        return errors
    if _is_ip_address(conf.rp_id):
        errors.append(
            Error(
                f"WEBAUTHN_RP_ID={conf.rp_id!r} is an IP address, which browsers refuse as a relying party.",
                hint="Use a domain name (under make run: localhost).",
                id="passkeys.E002",
            )
        )
    for origin in conf.origins:
        problem = _origin_problem(origin, rp_id=conf.rp_id)
        if problem:
            errors.append(Error(f"WEBAUTHN_ORIGINS: {origin!r} {problem}.", id="passkeys.E003"))
    if conf.challenge_ttl.total_seconds() <= 0:
        errors.append(Error("WEBAUTHN_CHALLENGE_SECONDS must be positive.", id="passkeys.E004"))
    return errors


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _origin_problem(origin: str, *, rp_id: str) -> str | None:
    parts = urlsplit(origin)
    if not parts.scheme or not parts.hostname or parts.path or parts.query or parts.fragment:
        return "is not an origin (scheme://host[:port], nothing after)"
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS):
        return "is not https (browsers run WebAuthn on secure origins only)"
    # WebAuthn §5.1.3: the RP ID is the origin's host or a registrable suffix of it.
    if parts.hostname != rp_id and not parts.hostname.endswith(f".{rp_id}"):
        return f"is not on WEBAUTHN_RP_ID={rp_id!r} or a subdomain of it"
    return None
