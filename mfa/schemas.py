from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from passkeys.schemas import CredentialOut
from tokens.schemas import TokenPairOut

# What a second step is proven with: a code (totp, recovery_code) or an assertion (webauthn).
SecondFactorMethod = Literal["totp", "recovery_code", "webauthn"]


class MfaStatusOut(Schema):
    totp: bool = Field(description="A confirmed authenticator app.")
    webauthn: list[CredentialOut] = Field(description="WebAuthn credentials (passkeys and security keys).")
    recovery_codes_left: int


class TotpBeginOut(Schema):
    secret: str = Field(description="Base32, for typing into the app by hand; pending until confirmed.")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI, for a QR code.")
    qr_svg: str = Field(description="That URI as a QR code: an SVG `data:` URI, for an <img> src.")


class CodeIn(Schema):
    code: str = Field(min_length=1, max_length=64)


class RecoveryCodesOut(Schema):
    recovery_codes: list[str] = Field(description="Single-use; shown this once, stored hashed.")


class MfaTokenIn(Schema):
    mfa_token: str = Field(min_length=1, max_length=128)


class MfaEnrollConfirmIn(MfaTokenIn):
    code: str = Field(min_length=1, max_length=64)


class MfaSignInOut(TokenPairOut):
    device_token: str | None = Field(
        description="As POST /api/auth/token answers it; null when the first factor was an emailed link."
    )


class MfaEnrolledOut(MfaSignInOut):
    recovery_codes: list[str] = Field(description="Single-use; shown this once, stored hashed.")


class AssertionFields(Schema):
    """The webauthn method's proof: the options' challenge_id and the assertion (PublicKeyCredential.toJSON())."""

    challenge_id: str | None = Field(None, max_length=64)
    credential: dict[str, Any] | None = None


class MfaVerifyIn(MfaTokenIn, AssertionFields):
    method: SecondFactorMethod
    code: str | None = Field(None, min_length=1, max_length=64)


class ReauthenticateIn(AssertionFields):
    method: Literal["password", "totp", "recovery_code", "webauthn"]
    password: str | None = Field(None, min_length=1, max_length=1024)
    code: str | None = Field(None, min_length=1, max_length=64)
