"""What the tests need of every provider: a fake OpenID Connect provider, and the contract each
provider's fixtures.py fills for the shared suite (tests/api/test_social_provider_contract.py).

Only tests import these modules. Bodies are shaped exactly as each provider documents them;
joserfc here stands for the provider signing its id_tokens.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

# The frontend's callback URL every provider's fixtures register.
REDIRECT_URI = "https://app.example.com/auth/callback"


@dataclass(frozen=True)
class ProviderContract:
    """One registered provider as the shared contract suite drives it, with its own documented answers."""

    # The name it is offered under, and the Django settings that offer it.
    name: str
    settings: dict[str, Any]
    client_id: str
    authorization_endpoint: str
    scopes: tuple[str, ...]
    token_endpoint: str
    # Mocks what the authorization URL needs (a discovery document): nothing for plain OAuth 2.0.
    mock_metadata: Callable[[responses.RequestsMock], None]
    # Mocks a sign-in's answers after the code: the token response and what the identity comes from.
    # (rsps, the nonce of the authorization URL, whether the provider says the address is verified)
    mock_sign_in: Callable[[responses.RequestsMock, str | None, bool], None]
    # Mocks the token endpoint refusing the code as the provider does; returns the provider's own error code.
    mock_code_refused: Callable[[responses.RequestsMock], str]
    # What the default answers map to: subject, email, display_name.
    identity: dict[str, Any]
    # Whether, with its default settings, a verified address from it becomes the user's.
    trusts_email: bool
    # The redirect_uri the provider gets, when not the frontend's (Apple's form_post URL).
    redirect_uri: str = REDIRECT_URI
    # Authorization URL parameters besides the standard ones (Apple's response_mode).
    extra_params: dict[str, str] = field(default_factory=dict)


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
        return dict(KeySet(list(keys or [self.key])).as_dict(private=False))

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


def oidc_sign_in(provider: OIDCProvider, **claims: Any) -> Callable[[responses.RequestsMock, str | None, bool], None]:
    """A ProviderContract.mock_sign_in: the token response carrying an id_token with these claims."""

    def mock(rsps: responses.RequestsMock, nonce: str | None, email_verified: bool) -> None:
        assert nonce is not None, "an OpenID Connect authorization URL carries one"
        id_token = provider.id_token(provider.claims(nonce=nonce, **{"email_verified": email_verified, **claims}))
        rsps.post(provider.token_endpoint, json=provider.token(id_token))

    return mock


def oidc_code_refused(provider: OIDCProvider) -> Callable[[responses.RequestsMock], str]:
    """A ProviderContract.mock_code_refused: RFC 6749 §5.2's error body, as OpenID Connect providers send it."""

    def mock(rsps: responses.RequestsMock) -> str:
        rsps.post(
            provider.token_endpoint, status=400, json={"error": "invalid_grant", "error_description": "Bad Request"}
        )
        return "invalid_grant"

    return mock
