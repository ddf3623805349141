from ninja import Schema
from pydantic import Field

from core.schemas import UserOut
from tokens.schemas import TokenPairOut


class ProviderOut(Schema):
    name: str = Field(examples=["kakao"])
    display_name: str = Field(examples=["Kakao"])


class AuthorizeIn(Schema):
    redirect_uri: str = Field(min_length=1, description="Exactly one of SOCIAL_REDIRECT_URIS.")


class AuthorizeOut(Schema):
    authorization_url: str = Field(description="Send the browser here.")
    state: str = Field(description="Comes back on the redirect_uri; hand it to /callback with the code.")


class CallbackIn(Schema):
    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=1, max_length=256)


class SocialLoginOut(TokenPairOut):
    user: UserOut
    created: bool = Field(description="Whether this login created the user.")
