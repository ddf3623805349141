from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from tokens.schemas import TokenPairOut

# What a code is checked as; "webauthn" joins with the passkeys app (docs/mfa.md).
SecondFactorMethod = Literal["totp", "recovery_code"]


class MfaStatusOut(Schema):
    totp: bool = Field(description="A confirmed authenticator app.")
    webauthn: list[dict[str, str | bool | datetime | None]] = Field(
        description="WebAuthn credentials: id, name, passkey, created_at, last_used_at."
    )
    recovery_codes_left: int


class TotpBeginOut(Schema):
    secret: str = Field(description="Base32, for typing into the app by hand; pending until confirmed.")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI, for a QR code.")


class CodeIn(Schema):
    code: str = Field(min_length=1, max_length=64)


class RecoveryCodesOut(Schema):
    recovery_codes: list[str] = Field(description="Single-use; shown this once, stored hashed.")


class MfaTokenIn(Schema):
    mfa_token: str = Field(min_length=1, max_length=128)


class MfaEnrollConfirmIn(MfaTokenIn):
    code: str = Field(min_length=1, max_length=64)


class MfaEnrolledOut(TokenPairOut):
    recovery_codes: list[str] = Field(description="Single-use; shown this once, stored hashed.")


class MfaVerifyIn(MfaTokenIn):
    method: SecondFactorMethod
    code: str = Field(min_length=1, max_length=64)


class ReauthenticateIn(Schema):
    method: Literal["password", "totp", "recovery_code"]
    password: str | None = Field(None, min_length=1, max_length=1024)
    code: str | None = Field(None, min_length=1, max_length=64)
