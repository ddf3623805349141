from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

from core.schemas import OptionalFieldsIn


class TokenPairOut(Schema):
    access: str
    refresh: str | None = Field(description="null when JWT_REFRESH_TRANSPORT=cookie: the token is in the cookie.")
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")


class RefreshIn(OptionalFieldsIn):
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
    # Access tokens only: how the session signed in (docs/mfa.md).
    auth_time: int | None = Field(None, description="When the user last proved who they are (access tokens).")
    amr: list[str] | None = Field(None, description="RFC 8176 methods of that proof (access tokens).")
    acr: str | None = Field(None, description="aal1, or aal2 after a second factor (access tokens).")


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


class SessionPageOut(Schema):
    items: list[SessionOut] = Field(description="Newest sign-in first.")
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class SessionsEndedOut(Schema):
    sessions_ended: int


class JwksOut(Schema):
    """RFC 7517 JWK Set: the public keys that verify this API's tokens, each named by its `kid`."""

    keys: list[dict[str, Any]]


class AuthorizationServerMetadataOut(Schema):
    """RFC 8414 metadata, for this API's own tokens (docs/keys.md explains each field)."""

    issuer: str = Field(description="Equal to every token's `iss` (JWT_ISSUER).")
    jwks_uri: str
    token_endpoint: str = Field(description="Refresh: a refresh token for a new pair.")
    revocation_endpoint: str = Field(description="RFC 7009: ends the session of the token sent.")
    introspection_endpoint: str = Field(description="RFC 7662, for resource servers (HTTP Basic).")
    grant_types_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    service_documentation: str


class TokenFormIn(Schema):
    """RFC 7662 §2.1 / RFC 7009 §2.1 parameters, form-encoded. Optional here so that a missing
    `token` is the RFCs' 400 `invalid_request`, not a 422."""

    token: str | None = None
    token_type_hint: str | None = Field(None, description="`access_token` or `refresh_token`; only a hint.")


class IntrospectionOut(Schema):
    """RFC 7662 §2.2. Inactive: `{"active": false}` alone. Active: the access token's claims, extra ones included."""

    model_config = ConfigDict(extra="allow")

    active: bool
    sub: str | None = None
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    aud: str | list[str] | None = None
    token_type: str | None = Field(None, examples=["Bearer"])
    sid: str | None = None
    jti: str | None = None
    auth_time: int | None = None
    amr: list[str] | None = None
    acr: str | None = None
