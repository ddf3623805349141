"""A mobile app's sign-in end to end against a real OpenID Connect server on loopback.

The development identity provider runs in pytest-django's live server. It mints an id_token
for its public "native" client with a nonce, as Google Sign-In or Sign in with Apple would on
a phone; the app hands it to POST /api/auth/social/dev/token, and the API verifies it
through the provider's discovery document and JWKS fetched over HTTP from that server.
"""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.test import Client

from devidp.social_entry import social_provider_entry

pytestmark = pytest.mark.django_db(transaction=True)

NATIVE_CLIENT_ID = "dev-native-client"


@pytest.fixture
def dev_server(settings, live_server):
    settings.DEBUG = True
    settings.SOCIAL_DEV_PROVIDER = True
    settings.SOCIAL_DEV_BASE_URL = live_server.url
    settings.SOCIAL_DEV_NATIVE_CLIENT_ID = NATIVE_CLIENT_ID
    settings.SOCIAL_REDIRECT_URIS = [f"{live_server.url}/auth/callback/dev"]
    settings.SOCIAL_KAKAO_CLIENT_ID = ""
    settings.SOCIAL_GOOGLE_CLIENT_ID = ""
    settings.SOCIAL_OIDC_PROVIDERS = {
        "dev": social_provider_entry(
            base_url=live_server.url,
            client_id=settings.SOCIAL_DEV_CLIENT_ID,
            client_secret=settings.SOCIAL_DEV_CLIENT_SECRET,
            native_client_id=NATIVE_CLIENT_ID,
        )
    }
    return live_server


def native_id_token(server, *, nonce: str, client_id: str = NATIVE_CLIENT_ID, email: str = "ada@example.com") -> str:
    """What the mobile SDK does: authorization code + PKCE as a public client, then the token endpoint."""
    http = Client(HTTP_HOST=urlsplit(server.url).netloc)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{server.url}/auth/callback/dev"
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(16),
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = http.post(
        "/dev-idp/authorize?" + urlencode(query), {"email": email, "name": "Ada", "email_verified": "on"}
    )
    assert answer.status_code == 302, answer.content
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    token = http.post("/dev-idp/token", form)
    assert token.status_code == 200, token.content
    return token.json()["id_token"]


def sign_in(server, **body) -> requests.Response:
    return requests.post(f"{server.url}/api/auth/social/dev/token", json=body, timeout=10)


def test_providers_say_the_dev_provider_takes_an_id_token(dev_server):
    providers = requests.get(f"{dev_server.url}/api/auth/social/providers", timeout=10).json()

    assert providers == [{"name": "dev", "display_name": "Dev", "native": ["id_token"]}]


def test_google_style_id_token_with_the_raw_nonce_signs_in(dev_server):
    raw = secrets.token_urlsafe(24)

    response = sign_in(dev_server, id_token=native_id_token(dev_server, nonce=raw), nonce=raw)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["created"] is True
    me = requests.get(
        f"{dev_server.url}/api/users/me", headers={"Authorization": f"Bearer {body['access']}"}, timeout=10
    )
    assert me.status_code == 200


def test_apple_style_id_token_with_the_hashed_nonce_signs_in(dev_server):
    """Apple's SDK puts SHA-256(raw nonce) in the request, so the token carries the hash."""
    raw = secrets.token_urlsafe(24)
    token = native_id_token(dev_server, nonce=hashlib.sha256(raw.encode()).hexdigest())

    assert sign_in(dev_server, id_token=token, nonce=raw).status_code == 200


def test_the_same_id_token_twice_is_refused(dev_server):
    raw = secrets.token_urlsafe(24)
    token = native_id_token(dev_server, nonce=raw)
    assert sign_in(dev_server, id_token=token, nonce=raw).status_code == 200

    replay = sign_in(dev_server, id_token=token, nonce=raw)

    assert replay.status_code == 400
    assert replay.json()["code"] == "id_token_invalid"


def test_wrong_nonce_is_refused(dev_server):
    token = native_id_token(dev_server, nonce="the-nonce-the-app-made")

    response = sign_in(dev_server, id_token=token, nonce="another-nonce")

    assert (response.status_code, response.json()["code"]) == (400, "id_token_invalid")


def test_id_token_of_a_client_that_is_not_ours_is_refused(dev_server, settings):
    """The provider's keys signed it, but for a client the dev entry does not list."""
    settings.SOCIAL_OIDC_PROVIDERS = {"dev": {**settings.SOCIAL_OIDC_PROVIDERS["dev"], "client_ids": []}}
    raw = secrets.token_urlsafe(24)

    response = sign_in(dev_server, id_token=native_id_token(dev_server, nonce=raw), nonce=raw)

    assert (response.status_code, response.json()["code"]) == (400, "id_token_invalid")
