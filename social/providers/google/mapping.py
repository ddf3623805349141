"""Google's id_token claims -> Identity: a pure function, fed plain dicts by the tests (google/fixtures.py)."""

from dataclasses import replace
from typing import Any

from social.providers.base import Identity
from social.providers.oidc import oidc_identity


def google_identity(claims: dict[str, Any]) -> Identity:
    """Google's claims; only a Gmail address or a Workspace one (`hd`) may link to an existing user."""
    identity = oidc_identity(claims)
    gmail = (identity.email or "").lower().endswith("@gmail.com")
    return replace(identity, email_authoritative=gmail or bool(claims.get("hd")))
