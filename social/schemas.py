from typing import Literal, Self

from django.utils.translation import gettext
from ninja import Schema
from pydantic import ConfigDict, Field, model_validator

from accounts.schemas import DeviceTokenIn, SignInOut
from core.schemas import UserOut


class ProviderOut(Schema):
    name: str = Field(examples=["kakao"])
    display_name: str = Field(examples=["Kakao"])
    native: list[str] = Field(
        examples=[["access_token"]],
        description="What POST /{provider}/token takes from a native SDK: `id_token`, `access_token`, or nothing.",
    )


class AuthorizeIn(Schema):
    redirect_uri: str = Field(min_length=1, description="Exactly one of SOCIAL_REDIRECT_URIS.")
    intent: Literal["sign_in", "link"] = Field(
        "sign_in", description="`link` attaches the identity to the bearer token's user (send one)."
    )


class AuthorizeOut(Schema):
    authorization_url: str = Field(description="Send the browser here.")
    state: str = Field(description="Comes back on the redirect_uri; hand it to /callback with the code.")


class CallbackIn(Schema):
    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=1, max_length=256)


class TokenIn(DeviceTokenIn):
    """A token a native SDK obtained: an id_token (with the request's nonce, if any) or an access token."""

    # one_token's rule in the OpenAPI document too, so that clients (and schemathesis) see it.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["id_token"],
                    "properties": {"id_token": {"type": "string"}, "access_token": {"type": "null"}},
                },
                {
                    "required": ["access_token"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "id_token": {"type": "null"},
                        "nonce": {"type": "null"},
                    },
                },
            ]
        }
    )

    id_token: str | None = Field(default=None, min_length=1, max_length=8192)
    nonce: str | None = Field(
        default=None, min_length=1, max_length=512, description="The raw nonce given to the SDK, if any."
    )
    access_token: str | None = Field(default=None, min_length=1, max_length=4096)
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=150,
        description="The name the SDK gave the app at the first authorization (Apple); fills an empty one only.",
    )

    @model_validator(mode="after")
    def one_token(self) -> Self:
        if (self.id_token is None) == (self.access_token is None):
            raise ValueError(gettext("Send exactly one of id_token and access_token."))
        if self.nonce is not None and self.id_token is None:
            raise ValueError(gettext("A nonce goes with an id_token only."))
        return self


class FormPostIn(Schema):
    """What Apple posts to the backend: code and state (or error), and `user` at the first authorization."""

    state: str = Field(min_length=1, max_length=256)
    code: str | None = Field(default=None, min_length=1, max_length=2048)
    error: str | None = Field(default=None, max_length=256)
    user: str | None = Field(default=None, max_length=4096, description="JSON with the name, first time only.")
    id_token: str | None = Field(default=None, max_length=8192, description="Ignored: /callback gets its own.")


class SocialLoginOut(SignInOut):
    user: UserOut
    created: bool = Field(description="Whether this login created the user.")
