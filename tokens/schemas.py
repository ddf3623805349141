from datetime import datetime
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field


class TokenPairOut(Schema):
    access: str
    refresh: str | None = Field(description="null when JWT_REFRESH_TRANSPORT=cookie: the token is in the cookie.")
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")


class RefreshIn(Schema):
    refresh: str | None = Field(
        None, min_length=1, description="Required with JWT_REFRESH_TRANSPORT=body; else the cookie may carry it."
    )


class VerifyIn(Schema):
    token: str = Field(min_length=1)


class ClaimsOut(Schema):
    """The verified claims; an access token may carry extra ones (JWT_EXTRA_CLAIMS)."""

    model_config = ConfigDict(extra="allow")

    iss: str
    aud: str | list[str]
    sub: str
    iat: int
    exp: int
    jti: str
    sid: str
    token_type: str


class WhoAmIOut(Schema):
    user_id: int
    session_id: UUID
    expires_at: datetime


class SessionOut(Schema):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str | None
    current: bool


class SessionsEndedOut(Schema):
    sessions_ended: int
