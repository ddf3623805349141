"""Apple's answers -> Identity: pure functions, fed plain dicts by the tests (apple/fixtures.py)."""

import json
from typing import Any

from social.errors import ProviderUnavailable
from social.providers.base import Identity, answer_email, answer_subject, answer_text

# Apple relays mail to these addresses; Apple verified them itself.
APPLE_PRIVATE_RELAY_DOMAIN = "@privaterelay.appleid.com"


def _apple_true(value: Any) -> bool:
    # Apple's boolean claims come as JSON booleans or as the strings "true"/"false".
    return value is True or value == "true"


def apple_identity(claims: dict[str, Any]) -> Identity:
    """Apple's id_token claims. Apple sends the name only once, in the form post (apple_user_name)."""
    email = answer_email(claims.get("email"))
    private_relay = _apple_true(claims.get("is_private_email")) or (email or "").lower().endswith(
        APPLE_PRIVATE_RELAY_DOMAIN
    )
    return Identity(
        subject=answer_subject(claims["sub"]),
        email=email,
        email_verified=email is not None and (_apple_true(claims.get("email_verified")) or private_relay),
        display_name="",
        avatar_url="",
        profile=claims,
    )


def apple_user_name(user: str | None) -> str:
    """The name in the `user` JSON Apple posts at the first authorization only; "" when absent or unusable."""
    if not user:
        return ""
    try:
        name = json.loads(user).get("name") or {}
        parts = [answer_text(name.get("firstName"), "firstName"), answer_text(name.get("lastName"), "lastName")]
    except (ValueError, AttributeError, ProviderUnavailable):
        return ""
    return " ".join(part.strip() for part in parts if part.strip())
