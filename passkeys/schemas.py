from datetime import datetime
from typing import Any

from ninja import Field, Schema

from accounts.schemas import DeviceTokenIn
from core.schemas import PrintableText


class RegisterOptionsIn(Schema):
    # A passkey signs in alone (discoverable, verifies the user); otherwise a second factor.
    passkey: bool = False


class CeremonyOptionsOut(Schema):
    challenge_id: str
    # PublicKeyCredentialCreationOptions or ...RequestOptions, in WebAuthn Level 3's JSON
    # (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON).
    options: dict[str, Any]


class RegisterIn(Schema):
    challenge_id: str = Field(max_length=64)
    # The PublicKeyCredential as JSON (its toJSON()).
    credential: dict[str, Any]
    # Shown in the list and in notices: printable (a NUL would reach PostgreSQL, which cannot store one).
    name: PrintableText = Field("", max_length=64)


class CredentialCreatedOut(Schema):
    id: int


class AssertionIn(DeviceTokenIn):
    challenge_id: str = Field(max_length=64)
    credential: dict[str, Any]


class CredentialOut(Schema):
    id: int
    name: str
    passkey: bool
    created_at: datetime
    last_used_at: datetime | None
