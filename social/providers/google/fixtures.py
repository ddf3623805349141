"""Google as the tests meet it: its discovery document, keys and id_tokens as Google documents them."""

from social.providers.fixtures import OIDCProvider, ProviderContract, oidc_code_refused, oidc_sign_in

GOOGLE_CLIENT_ID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "GOCSPX-google-client-secret"
GOOGLE_IOS_CLIENT_ID = "123456789012-iosiosiosiosiosiosiosiosiosios01.apps.googleusercontent.com"
GOOGLE_ANDROID_CLIENT_ID = "123456789012-androidandroidandroidandroid01.apps.googleusercontent.com"
GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"

GOOGLE = OIDCProvider(
    issuer="https://accounts.google.com", discovery_url=GOOGLE_DISCOVERY_URL, client_id=GOOGLE_CLIENT_ID
)
# Google's discovery document names endpoints on other hosts than its issuer.
GOOGLE.token_endpoint = "https://oauth2.googleapis.com/token"
GOOGLE.jwks_uri = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE.userinfo_endpoint = "https://openidconnect.googleapis.com/v1/userinfo"

GOOGLE_SETTINGS = {
    "SOCIAL_GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID,
    "SOCIAL_GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
    "SOCIAL_GOOGLE_DISCOVERY_URL": GOOGLE_DISCOVERY_URL,
    "SOCIAL_GOOGLE_SCOPES": ["openid", "email", "profile"],
    "SOCIAL_GOOGLE_CLIENT_IDS": [GOOGLE_IOS_CLIENT_ID, GOOGLE_ANDROID_CLIENT_ID],
}

GOOGLE_CONTRACT = ProviderContract(
    name="google",
    settings=GOOGLE_SETTINGS,
    client_id=GOOGLE_CLIENT_ID,
    authorization_endpoint=GOOGLE.authorization_endpoint,
    scopes=("openid", "email", "profile"),
    token_endpoint=GOOGLE.token_endpoint,
    mock_metadata=GOOGLE.mock_metadata,
    # A Gmail address: one Google is authoritative for.
    mock_sign_in=oidc_sign_in(GOOGLE, email="ada@gmail.com"),
    mock_code_refused=oidc_code_refused(GOOGLE),
    identity={"subject": "110169484474386276334", "email": "ada@gmail.com", "display_name": "Ada Lovelace"},
    trusts_email=True,
)
