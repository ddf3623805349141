"""A generic OpenID Connect provider ("acme", a Keycloak realm) as the tests meet it."""

from social.providers.fixtures import OIDCProvider, ProviderContract, oidc_code_refused, oidc_sign_in

ACME_CLIENT_ID = "acme-client"
ACME_CLIENT_SECRET = "acme-client-secret"
ACME_NATIVE_CLIENT_ID = "acme-mobile-app"
ACME_DISCOVERY_URL = "https://id.acme.test/realms/main/.well-known/openid-configuration"

ACME = OIDCProvider(
    issuer="https://id.acme.test/realms/main",
    discovery_url=ACME_DISCOVERY_URL,
    client_id=ACME_CLIENT_ID,
    auth_methods=("client_secret_basic",),
)


ACME_ENTRY = {
    "display_name": "Acme ID",
    "client_id": ACME_CLIENT_ID,
    "client_secret": ACME_CLIENT_SECRET,
    "discovery_url": ACME_DISCOVERY_URL,
    "scopes": ["openid", "email"],
    "client_ids": [ACME_NATIVE_CLIENT_ID],
}

ACME_CONTRACT = ProviderContract(
    name="acme",
    settings={"SOCIAL_OIDC_PROVIDERS": {"acme": ACME_ENTRY}},
    client_id=ACME_CLIENT_ID,
    authorization_endpoint=ACME.authorization_endpoint,
    scopes=("openid", "email"),
    token_endpoint=ACME.token_endpoint,
    mock_metadata=ACME.mock_metadata,
    mock_sign_in=oidc_sign_in(ACME),
    mock_code_refused=oidc_code_refused(ACME),
    identity={"subject": "110169484474386276334", "email": "ada@gmail.example", "display_name": "Ada Lovelace"},
    # Off unless its entry says "trust_email": true.
    trusts_email=False,
)
