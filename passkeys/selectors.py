"""Reads of WebAuthn credentials."""

from datetime import datetime
from typing import TypedDict

from core.models import User
from passkeys.models import WebAuthnCredential


class CredentialRow(TypedDict):
    id: int
    name: str
    passkey: bool
    created_at: datetime
    last_used_at: datetime | None


def credentials_list(*, user: User | int) -> list[CredentialRow]:
    """The user's credentials (a User or its id), oldest first, as the API lists them (one query)."""
    return list(
        WebAuthnCredential.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values("id", "name", "passkey", "created_at", "last_used_at")
    )
