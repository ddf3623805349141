from datetime import datetime

from ninja import Schema
from pydantic import Field

from core.models import DISPLAY_NAME_MAX_LENGTH
from core.schemas import Language, OptionalFieldsIn, PrintableText, UserOut
from tokens.schemas import TokenPairOut

# Long enough for any passphrase; short enough that hashing it costs nothing extra.
_PASSWORD = Field(min_length=1, max_length=1024)
_EMAIL = Field(min_length=3, max_length=254, examples=["ada@example.com"])


class RegisterIn(Schema):
    email: str = _EMAIL
    password: str = _PASSWORD
    display_name: PrintableText = Field("", max_length=DISPLAY_NAME_MAX_LENGTH)
    language: Language | None = Field(
        None, description="The language of the account's emails; by default the request's (Accept-Language)."
    )


class EmailIn(Schema):
    email: str = _EMAIL


class LinkIn(Schema):
    """The two values of an emailed link."""

    uid: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=128)


class VerifyEmailIn(LinkIn):
    password: str | None = Field(
        None, max_length=1024, description="The account's password; not needed with a bearer token of the account."
    )


class ResetConfirmIn(LinkIn):
    new_password: str = _PASSWORD


class DeviceTokenIn(Schema):
    device_token: str | None = Field(
        None, max_length=512, description="The `device_token` of an earlier sign-in (native apps; browsers: a cookie)."
    )


class PasswordSignInIn(DeviceTokenIn):
    email: str = _EMAIL
    password: str = _PASSWORD


class SignInOut(TokenPairOut):
    device_token: str = Field(description="Send it back with the next sign-ins from this device (accounts.devices).")


class PasswordChangeIn(Schema):
    current_password: str | None = Field(None, max_length=1024, description="Omit only if no password is set yet.")
    new_password: str = _PASSWORD


class AcceptedOut(Schema):
    """The same answer whether or not the address has an account."""

    detail: str


class IdentityOut(Schema):
    id: int
    provider: str
    email: str
    email_verified: bool
    first_login_at: datetime
    last_login_at: datetime


class IdentitiesOut(Schema):
    has_password: bool
    identities: list[IdentityOut]


class UserUpdateIn(OptionalFieldsIn):
    """Only the fields sent change."""

    display_name: PrintableText | None = Field(None, max_length=DISPLAY_NAME_MAX_LENGTH)
    language: Language | None = None


class AccountDeleteIn(OptionalFieldsIn):
    password: str | None = Field(None, max_length=1024, description="Needed unless the sign-in was recent.")


class EmailCodeIn(DeviceTokenIn):
    email: str = _EMAIL
    # Spaces and dashes are allowed (a code copied in groups); accounts.codes ignores them.
    code: str = Field(min_length=1, max_length=32, examples=["K7PQ2M"])


class EmailChangeIn(Schema):
    new_email: str = _EMAIL


class SignedLinkIn(Schema):
    """The two values of an email change's link; its token is a signed payload, longer than a reset token's."""

    uid: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=1024)


class MeOut(UserOut):
    """The profile, and how this access token's session signed in (its claims: docs/mfa.md)."""

    auth_time: int | None = Field(description="When the user last proved who they are (epoch seconds).")
    amr: list[str] = Field(description="RFC 8176 methods of that proof, e.g. pwd, fed, otp, mfa.")
    acr: str | None = Field(description="aal1, or aal2 after a second factor.")
