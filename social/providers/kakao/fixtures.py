"""Kakao as the tests meet it: its answers shaped as Kakao's REST API reference documents them."""

import time
from typing import Any

import responses

from social.providers.fixtures import OIDCProvider, ProviderContract

KAKAO_CLIENT_ID = "3f1c0e2b9a8d7c6b5a4f3e2d1c0b9a8d"  # Kakao's "REST API key"
KAKAO_CLIENT_SECRET = "kakao-client-secret-from-the-security-tab"
KAKAO_AUTHORIZE_URL = "https://kauth.kakao.com/oauth/authorize"
KAKAO_TOKEN_URL = "https://kauth.kakao.com/oauth/token"
KAKAO_USERINFO_URL = "https://kapi.kakao.com/v2/user/me"
KAKAO_USER_ID = 1234567890
KAKAO_APP_ID = "1029384"  # Kakao's numeric "App ID" (App Keys page)
KAKAO_TOKEN_INFO_URL = "https://kapi.kakao.com/v1/user/access_token_info"
KAKAO_NATIVE_APP_KEY = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"  # Kakao's "Native app key" (the SDK's)
KAKAO_DISCOVERY_URL = "https://kauth.kakao.com/.well-known/openid-configuration"


def kakao_token(**changes: Any) -> dict[str, Any]:
    return {
        "access_token": "kakao-access-token-Xq1",
        "token_type": "bearer",
        "refresh_token": "kakao-refresh-token-Zr2",
        "expires_in": 21599,
        "scope": "account_email profile_image profile_nickname",
        "refresh_token_expires_in": 5183999,
        **changes,
    }


def kakao_user(
    *,
    user_id: int = KAKAO_USER_ID,
    email: str | None = "minji@kakao.example",
    has_email: bool = True,
    is_email_valid: bool = True,
    is_email_verified: bool = True,
    nickname: str = "민지",
    is_default_image: bool = False,
    image_url: str = "https://k.kakaocdn.net/dn/abc/img_640x640.jpg",
) -> dict[str, Any]:
    """GET /v2/user/me?secure_resource=true: image URLs are https."""
    account: dict[str, Any] = {
        "profile_nickname_needs_agreement": False,
        "profile_image_needs_agreement": False,
        "profile": {
            "nickname": nickname,
            "thumbnail_image_url": "https://k.kakaocdn.net/dn/abc/img_110x110.jpg",
            "profile_image_url": image_url,
            "is_default_image": is_default_image,
        },
        "has_email": has_email,
    }
    if has_email:
        # Kakao sends the flags and the email only once the user has agreed to share it.
        account.update(
            email_needs_agreement=False, is_email_valid=is_email_valid, is_email_verified=is_email_verified, email=email
        )
    return {
        "id": user_id,
        "connected_at": "2024-05-01T09:30:00Z",
        "properties": {
            "nickname": nickname,
            "profile_image": "https://k.kakaocdn.net/dn/abc/img_640x640.jpg",
            "thumbnail_image": "https://k.kakaocdn.net/dn/abc/img_110x110.jpg",
        },
        "kakao_account": account,
    }


def kakao_oauth_error(
    *,
    error: str = "invalid_grant",
    error_code: str = "KOE320",
    description: str = "authorization code not found for code=...",
) -> dict[str, str]:
    return {"error": error, "error_description": description, "error_code": error_code}


def kakao_api_error(*, code: int = -401, msg: str = "this access token does not exist") -> dict[str, Any]:
    return {"msg": msg, "code": code}


def kakao_token_info(*, app_id: int = int(KAKAO_APP_ID), user_id: int = KAKAO_USER_ID) -> dict[str, Any]:
    """GET /v1/user/access_token_info: who the token is for, and which app it was issued to."""
    return {"id": user_id, "expires_in": 7199, "app_id": app_id}


def mock_kakao(
    rsps: responses.RequestsMock, *, token: dict[str, Any] | None = None, user: dict[str, Any] | None = None
) -> None:
    rsps.post(KAKAO_TOKEN_URL, json=token or kakao_token())
    rsps.get(KAKAO_USERINFO_URL, json=user or kakao_user())


class KakaoIdP(OIDCProvider):
    """kauth.kakao.com as an OpenID Connect provider: its discovery document and id_tokens."""

    def __init__(self) -> None:
        super().__init__(
            issuer="https://kauth.kakao.com",
            discovery_url=KAKAO_DISCOVERY_URL,
            client_id=KAKAO_NATIVE_APP_KEY,
            key_id="3f96980381e451efad0d2ddd30e3d3",
            auth_methods=("client_secret_post",),
        )
        self.authorization_endpoint = KAKAO_AUTHORIZE_URL
        self.token_endpoint = KAKAO_TOKEN_URL
        self.userinfo_endpoint = "https://kapi.kakao.com/v1/oidc/userinfo"
        self.jwks_uri = "https://kauth.kakao.com/.well-known/jwks.json"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "jwks_uri": self.jwks_uri,
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "request_uri_parameter_supported": False,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "iss",
                "aud",
                "sub",
                "auth_time",
                "exp",
                "iat",
                "nonce",
                "nickname",
                "picture",
                "email",
            ],
        }

    def claims(self, *, nonce: str | None, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "aud": self.client_id,
            "sub": str(KAKAO_USER_ID),
            "auth_time": now,
            "iss": self.issuer,
            "nickname": "민지",
            "exp": now + 21599,
            "iat": now,
            "picture": "https://k.kakaocdn.net/dn/abc/img_110x110.jpg",
            "email": "minji@kakao.example",
            **({"nonce": nonce} if nonce else {}),
            **changes,
        }
        return {key: value for key, value in claims.items() if value is not None}


KAKAO_OIDC = KakaoIdP()

KAKAO_SETTINGS = {
    "SOCIAL_KAKAO_CLIENT_ID": KAKAO_CLIENT_ID,
    "SOCIAL_KAKAO_CLIENT_SECRET": KAKAO_CLIENT_SECRET,
    "SOCIAL_KAKAO_AUTHORIZE_URL": KAKAO_AUTHORIZE_URL,
    "SOCIAL_KAKAO_TOKEN_URL": KAKAO_TOKEN_URL,
    "SOCIAL_KAKAO_USERINFO_URL": KAKAO_USERINFO_URL,
    "SOCIAL_KAKAO_SCOPES": ["profile_nickname", "profile_image", "account_email"],
    "SOCIAL_KAKAO_APP_ID": KAKAO_APP_ID,
    "SOCIAL_KAKAO_TOKEN_INFO_URL": KAKAO_TOKEN_INFO_URL,
    "SOCIAL_KAKAO_CLIENT_IDS": [KAKAO_NATIVE_APP_KEY],
    "SOCIAL_KAKAO_DISCOVERY_URL": KAKAO_DISCOVERY_URL,
}


def _sign_in(rsps: responses.RequestsMock, nonce: str | None, email_verified: bool) -> None:
    mock_kakao(rsps, user=kakao_user(is_email_verified=email_verified))


def _code_refused(rsps: responses.RequestsMock) -> str:
    rsps.post(KAKAO_TOKEN_URL, status=400, json=kakao_oauth_error())
    return "KOE320"


KAKAO_CONTRACT = ProviderContract(
    name="kakao",
    settings=KAKAO_SETTINGS,
    client_id=KAKAO_CLIENT_ID,
    authorization_endpoint=KAKAO_AUTHORIZE_URL,
    scopes=("profile_nickname", "profile_image", "account_email"),
    token_endpoint=KAKAO_TOKEN_URL,
    mock_metadata=lambda rsps: None,
    mock_sign_in=_sign_in,
    mock_code_refused=_code_refused,
    identity={"subject": str(KAKAO_USER_ID), "email": "minji@kakao.example", "display_name": "민지"},
    trusts_email=True,
)
