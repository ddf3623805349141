"""Apple as the tests meet it: its discovery document, keys, token endpoint and id_tokens as Apple shapes them."""

import json
import time
from typing import Any

from joserfc.jwk import ECKey

from social.providers.fixtures import OIDCProvider, ProviderContract, oidc_code_refused, oidc_sign_in

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


# The app's Sign in with Apple key (the .p8), one per run.
APPLE_KEY = ECKey.generate_key("P-256", parameters={"kid": APPLE_KEY_ID})

APPLE_SETTINGS = {
    "SOCIAL_APPLE_CLIENT_ID": APPLE_SERVICES_ID,
    "SOCIAL_APPLE_CLIENT_IDS": [APPLE_BUNDLE_ID],
    "SOCIAL_APPLE_TEAM_ID": APPLE_TEAM_ID,
    "SOCIAL_APPLE_KEY_ID": APPLE_KEY_ID,
    "SOCIAL_APPLE_PRIVATE_KEY": APPLE_KEY.as_pem(private=True).decode(),
    "SOCIAL_APPLE_PRIVATE_KEY_FILE": "",
    "SOCIAL_APPLE_FORM_POST_URI": APPLE_FORM_POST_URI,
    "SOCIAL_APPLE_DISCOVERY_URL": APPLE_DISCOVERY_URL,
    "SOCIAL_APPLE_SCOPES": ["name", "email"],
}

APPLE_CONTRACT = ProviderContract(
    name="apple",
    settings=APPLE_SETTINGS,
    client_id=APPLE_SERVICES_ID,
    authorization_endpoint=APPLE.authorization_endpoint,
    scopes=("name", "email"),
    token_endpoint=APPLE.token_endpoint,
    mock_metadata=APPLE.mock_metadata,
    # A shared (not private relay) address, whose verification rests on `email_verified` alone.
    mock_sign_in=oidc_sign_in(APPLE, email="ada@icloud.example", is_private_email="false"),
    mock_code_refused=oidc_code_refused(APPLE),
    identity={
        "subject": "001234.5f0c1e2d3b4a59687766554433221100.0912",
        "email": "ada@icloud.example",
        "display_name": "",
    },
    trusts_email=True,
    redirect_uri=APPLE_FORM_POST_URI,
    extra_params={"response_mode": "form_post"},
)
