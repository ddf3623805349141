"""Kakao, Google and a generic OpenID Connect provider as the outside world, built in one place.

Bodies are shaped like the real ones (Kakao's REST API reference, Google's OpenID Connect
docs). Tests may use joserfc directly: it stands for the provider signing its id_tokens.
"""

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

REDIRECT_URI = "https://app.example.com/auth/callback"

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

GOOGLE_CLIENT_ID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "GOCSPX-google-client-secret"
GOOGLE_IOS_CLIENT_ID = "123456789012-iosiosiosiosiosiosiosiosiosios01.apps.googleusercontent.com"
GOOGLE_ANDROID_CLIENT_ID = "123456789012-androidandroidandroidandroid01.apps.googleusercontent.com"
GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"

ACME_CLIENT_ID = "acme-client"
ACME_CLIENT_SECRET = "acme-client-secret"
ACME_NATIVE_CLIENT_ID = "acme-mobile-app"
ACME_DISCOVERY_URL = "https://id.acme.test/realms/main/.well-known/openid-configuration"


# --- Kakao -------------------------------------------------------------------------------


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


def mock_kakao(rsps: responses.RequestsMock, *, token: dict | None = None, user: dict | None = None) -> None:
    rsps.post(KAKAO_TOKEN_URL, json=token or kakao_token())
    rsps.get(KAKAO_USERINFO_URL, json=user or kakao_user())


# --- OpenID Connect ----------------------------------------------------------------------


class OIDCProvider:
    """An OpenID Connect provider's discovery document, keys and id_tokens."""

    def __init__(
        self,
        *,
        issuer: str,
        discovery_url: str,
        client_id: str,
        key_id: str = "key-1",
        auth_methods: tuple[str, ...] = ("client_secret_post", "client_secret_basic"),
    ) -> None:
        self.issuer = issuer
        self.discovery_url = discovery_url
        self.client_id = client_id
        self.key = _rsa_key(key_id)
        self.auth_methods = auth_methods
        base = issuer.rstrip("/")
        self.authorization_endpoint = f"{base}/o/oauth2/v2/auth"
        self.token_endpoint = f"{base}/token"
        self.jwks_uri = f"{base}/oauth2/v3/certs"
        self.userinfo_endpoint = f"{base}/v1/userinfo"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "revocation_endpoint": f"{self.issuer}/revoke",
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code", "token", "id_token", "code id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
            "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name", "picture", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }

    def jwks(self, *keys: RSAKey) -> dict[str, Any]:
        return KeySet(list(keys or [self.key])).as_dict(private=False)

    def claims(
        self,
        *,
        nonce: str,
        sub: str = "110169484474386276334",
        email: str = "ada@gmail.example",
        email_verified: bool = True,
        **changes: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "azp": self.client_id,
            "aud": self.client_id,
            "sub": sub,
            "email": email,
            "email_verified": email_verified,
            "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
            "nonce": nonce,
            "name": "Ada Lovelace",
            "picture": "https://lh3.googleusercontent.com/a/ACg8ocK=s96-c",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "iat": now,
            "exp": now + 3600,
            **changes,
        }

    def userinfo(
        self, *, sub: str = "110169484474386276334", email: str = "ada@acme.example", email_verified: bool = True
    ) -> dict[str, Any]:
        return {"sub": sub, "email": email, "email_verified": email_verified, "name": "Ada Lovelace"}

    def id_token(self, claims: dict[str, Any], *, key: RSAKey | None = None, algorithm: str = "RS256") -> str:
        key = key or self.key
        return jwt.encode({"alg": algorithm, "kid": key.kid, "typ": "JWT"}, claims, key)

    def token(self, id_token: str) -> dict[str, Any]:
        return {
            "access_token": "ya29.a0AfB_byC-provider-access-token",
            "expires_in": 3599,
            "scope": "openid https://www.googleapis.com/auth/userinfo.email "
            "https://www.googleapis.com/auth/userinfo.profile",
            "token_type": "Bearer",
            "id_token": id_token,
        }

    def mock_metadata(self, rsps: responses.RequestsMock) -> None:
        rsps.get(self.discovery_url, json=self.discovery())
        rsps.get(self.jwks_uri, json=self.jwks())


_keys: dict[str, RSAKey] = {}


def _rsa_key(key_id: str) -> RSAKey:
    # Generating RSA keys is slow: one per key id for the whole run.
    if key_id not in _keys:
        _keys[key_id] = RSAKey.generate_key(2048, parameters={"kid": key_id, "use": "sig", "alg": "RS256"})
    return _keys[key_id]


def another_key(key_id: str = "attacker-key") -> RSAKey:
    return _rsa_key(key_id)


GOOGLE = OIDCProvider(
    issuer="https://accounts.google.com", discovery_url=GOOGLE_DISCOVERY_URL, client_id=GOOGLE_CLIENT_ID
)
# Google's discovery document names endpoints on other hosts than its issuer.
GOOGLE.token_endpoint = "https://oauth2.googleapis.com/token"
GOOGLE.jwks_uri = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE.userinfo_endpoint = "https://openidconnect.googleapis.com/v1/userinfo"
ACME = OIDCProvider(
    issuer="https://id.acme.test/realms/main",
    discovery_url=ACME_DISCOVERY_URL,
    client_id=ACME_CLIENT_ID,
    auth_methods=("client_secret_basic",),
)


# --- the frontend's side -------------------------------------------------------------------


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def form_of(call) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(call.request.body).items()}


def authorize(client, provider: str, *, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """Begins a login like the frontend does; the authorization URL's query (state, nonce...)."""
    response = client.post(f"/auth/social/{provider}/authorize", json={"redirect_uri": redirect_uri})
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == query_of(response.json()["authorization_url"])["state"]
    return query_of(response.json()["authorization_url"])


def callback(client, provider: str, *, state: str, code: str = "code-from-the-redirect", **headers: str):
    return client.post(f"/auth/social/{provider}/callback", json={"code": code, "state": state}, headers=headers)


def login_kakao(client, rsps: responses.RequestsMock, *, user: dict | None = None):
    mock_kakao(rsps, user=user)
    return callback(client, "kakao", state=authorize(client, "kakao")["state"])


def login_oidc(client, rsps: responses.RequestsMock, provider: OIDCProvider, name: str, **claim_changes: Any):
    """A full login whose id_token carries the nonce of the authorization URL, as a provider's would."""
    provider.mock_metadata(rsps)
    params = authorize(client, name)
    claims = provider.claims(**{"nonce": params["nonce"], **claim_changes})
    rsps.post(provider.token_endpoint, json=provider.token(provider.id_token(claims)))
    return callback(client, name, state=params["state"])


# --- Kakao Login's OpenID Connect ------------------------------------------------------------------


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


# --- Sign in with Apple ---------------------------------------------------------------------------

APPLE_SERVICES_ID = "com.example.app.signin"  # the web client ("Services ID")
APPLE_BUNDLE_ID = "com.example.app"  # the iOS app
APPLE_TEAM_ID = "A1B2C3D4E5"
APPLE_KEY_ID = "KEY123ABCD"
APPLE_DISCOVERY_URL = "https://appleid.apple.com/.well-known/openid-configuration"
APPLE_FORM_POST_URI = "https://api.example.com/api/auth/social/apple/form-post"


class AppleIdP(OIDCProvider):
    """appleid.apple.com: its discovery document, keys, token endpoint and id_tokens as Apple shapes them."""

    def __init__(self) -> None:
        super().__init__(
            issuer="https://appleid.apple.com",
            discovery_url=APPLE_DISCOVERY_URL,
            client_id=APPLE_SERVICES_ID,
            key_id="YuyXoY",
            auth_methods=("client_secret_post",),
        )
        self.authorization_endpoint = "https://appleid.apple.com/auth/authorize"
        self.token_endpoint = "https://appleid.apple.com/auth/token"
        self.jwks_uri = "https://appleid.apple.com/auth/keys"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "revocation_endpoint": "https://appleid.apple.com/auth/revoke",
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "name"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "claims_supported": [
                "aud",
                "email",
                "email_verified",
                "exp",
                "iat",
                "is_private_email",
                "iss",
                "nonce",
                "nonce_supported",
                "real_user_status",
                "sub",
                "transfer_sub",
            ],
        }

    def claims(
        self,
        *,
        nonce: str | None,
        sub: str = "001234.5f0c1e2d3b4a59687766554433221100.0912",
        email: str = "x7k2m9q4pz@privaterelay.appleid.com",
        email_verified: Any = "true",
        is_private_email: Any = "true",
        **changes: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "exp": now + 600,
            "iat": now,
            "sub": sub,
            "c_hash": "bHnJmlHmQ6rN0D0p6kGZ1w",
            "email": email,
            "email_verified": email_verified,
            "is_private_email": is_private_email,
            "auth_time": now,
            "nonce_supported": True,
            **({"nonce": nonce} if nonce else {}),
            **changes,
        }
        return {key: value for key, value in claims.items() if value is not None}

    def token(self, id_token: str) -> dict[str, Any]:
        return {
            "access_token": "a7058d2a1f2b54c3e8a9d0f1.0.mrxs.Fq2xY-apple-access",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "r0e1c2b3a4.0.mrxs.apple-refresh",
            "id_token": id_token,
        }


APPLE = AppleIdP()


def apple_user(first: str = "Ada", last: str = "Lovelace") -> str:
    """The `user` form field Apple posts at the first authorization only (a JSON string)."""
    return json.dumps({"name": {"firstName": first, "lastName": last}, "email": "x7k2m9q4pz@privaterelay.appleid.com"})


# --- Naver ----------------------------------------------------------------------------------------

NAVER_CLIENT_ID = "jyvqXeaVOVmV"
NAVER_CLIENT_SECRET = "527300A0_COq1_XV33cf"
NAVER_AUTHORIZE_URL = "https://nid.naver.com/oauth2.0/authorize"
NAVER_TOKEN_URL = "https://nid.naver.com/oauth2.0/token"
NAVER_USERINFO_URL = "https://openapi.naver.com/v1/nid/me"


def naver_token(**changes: Any) -> dict[str, Any]:
    # Naver sends expires_in as a string.
    return {
        "access_token": "AAAAQosjWDJieBiQZc3to9YQp6HDLvrmyKC+6+iZ3gq7qrkqf50ljZC+Lgoqrg",
        "refresh_token": "c8ceMEJisO4Se7uGisHoX0f5JEii7JnipglQipkOn5Zp3tyP7dHQoP0zNKHUq2gY",
        "token_type": "bearer",
        "expires_in": "3600",
        **changes,
    }


def naver_token_error(
    *, error: str = "invalid_request", description: str = "no valid data in session"
) -> dict[str, str]:
    """Naver answers token errors with HTTP 200 and this body."""
    return {"error": error, "error_description": description}


def naver_me(**changes: Any) -> dict[str, Any]:
    return {
        "resultcode": "00",
        "message": "success",
        "response": {
            "id": "32742776",
            "nickname": "OpenAPI",
            "profile_image": "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif",
            "age": "40-49",
            "gender": "F",
            "email": "openapi@naver.com",
            "name": "오픈 API",
            "birthday": "10-01",
            **changes,
        },
    }


def naver_error(*, resultcode: str = "024", message: str = "Authentication failed / 인증에 실패했습니다.") -> dict:
    return {"resultcode": resultcode, "message": message}
