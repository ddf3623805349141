"""The development identity provider as a client (the social app) sees it over HTTP."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata
from django.core.checks import run_checks
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet

# Loopback, as under `make run`: Authlib refuses plain http anywhere else.
BASE = "http://127.0.0.1:8000"
REDIRECT_URI = f"{BASE}/auth/callback/dev"
CLIENT_ID = "test-dev-client"
CLIENT_SECRET = "test-dev-secret"
DISCOVERY = "/dev-idp/.well-known/openid-configuration"


@pytest.fixture
def dev_idp(settings):
    settings.DEBUG = True
    settings.SOCIAL_DEV_PROVIDER = True
    settings.SOCIAL_DEV_BASE_URL = BASE
    settings.SOCIAL_DEV_CLIENT_ID = CLIENT_ID
    settings.SOCIAL_DEV_CLIENT_SECRET = CLIENT_SECRET
    settings.SOCIAL_REDIRECT_URIS = [REDIRECT_URI]
    return settings


@pytest.fixture
def http() -> Client:
    return Client(HTTP_HOST="127.0.0.1:8000")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_params(*, verifier: str, nonce: str = "n-0S6_WzA2Mj", **overrides) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": "af0ifjsldkj",
        "nonce": nonce,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def issue_code(
    http: Client, *, verifier: str, email: str = "ada@example.com", verified: bool = True, **overrides
) -> dict[str, list[str]]:
    """Signs in at the authorize page; the query of the redirect back to the client."""
    url = "/dev-idp/authorize?" + urlencode(authorize_params(verifier=verifier, **overrides))
    form = {"email": email, "name": "Ada Lovelace", **({"email_verified": "on"} if verified else {})}
    response = http.post(url, form)
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == overrides.get("redirect_uri", REDIRECT_URI)
    return parse_qs(location.query)


def exchange(http: Client, code: str, *, verifier: str, secret: str = CLIENT_SECRET, redirect_uri: str = REDIRECT_URI):
    return http.post(
        "/dev-idp/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            "client_secret": secret,
        },
    )


def verified_claims(http: Client, id_token: str) -> dict:
    keys = KeySet.import_key_set(http.get("/dev-idp/jwks").json())
    return jwt.decode(id_token, keys, algorithms=["RS256"]).claims


def test_discovery_document_is_valid_openid_provider_metadata(dev_idp, http):
    metadata = http.get(DISCOVERY).json()

    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == f"{BASE}/dev-idp"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert http.get(urlsplit(metadata["jwks_uri"]).path).status_code == 200


def test_a_code_exchanges_for_an_id_token_signed_by_the_published_key(dev_idp, http):
    verifier = secrets.token_urlsafe(48)
    redirect = issue_code(http, verifier=verifier, nonce="nonce-for-this-login")
    assert redirect["state"] == ["af0ifjsldkj"]

    response = exchange(http, redirect["code"][0], verifier=verifier)

    assert response.status_code == 200, response.content
    claims = verified_claims(http, response.json()["id_token"])
    assert claims["iss"] == f"{BASE}/dev-idp"
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == "nonce-for-this-login"
    assert claims["email"] == "ada@example.com"
    assert claims["email_verified"] is True
    assert claims["name"] == "Ada Lovelace"


def test_the_subject_is_stable_per_email_and_differs_between_emails(dev_idp, http):
    def subject(email: str, nonce: str) -> str:
        verifier = secrets.token_urlsafe(48)
        code = issue_code(http, verifier=verifier, email=email, nonce=nonce)["code"][0]
        return verified_claims(http, exchange(http, code, verifier=verifier).json()["id_token"])["sub"]

    first = subject("ada@example.com", "nonce-1")
    assert subject("Ada@Example.com", "nonce-2") == first
    assert subject("grace@example.com", "nonce-3") != first


def test_an_unverified_email_is_reported_as_unverified(dev_idp, http):
    verifier = secrets.token_urlsafe(48)
    code = issue_code(http, verifier=verifier, email="new@example.com", verified=False)["code"][0]

    claims = verified_claims(http, exchange(http, code, verifier=verifier).json()["id_token"])

    assert claims["email_verified"] is False


def test_the_token_endpoint_refuses_a_wrong_client_secret(dev_idp, http):
    verifier = secrets.token_urlsafe(48)
    code = issue_code(http, verifier=verifier)["code"][0]

    response = exchange(http, code, verifier=verifier, secret="not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert exchange(http, code, verifier=verifier).status_code == 200  # The code was not spent.


def test_the_token_endpoint_refuses_another_redirect_uri(dev_idp, http):
    verifier = secrets.token_urlsafe(48)
    code = issue_code(http, verifier=verifier)["code"][0]

    response = exchange(http, code, verifier=verifier, redirect_uri=f"{BASE}/auth/callback/google")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_the_token_endpoint_refuses_a_wrong_pkce_verifier(dev_idp, http):
    verifier = secrets.token_urlsafe(48)
    code = issue_code(http, verifier=verifier)["code"][0]

    response = exchange(http, code, verifier=secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_works_once(dev_idp, http):
    verifier = secrets.token_urlsafe(48)
    code = issue_code(http, verifier=verifier)["code"][0]
    assert exchange(http, code, verifier=verifier).status_code == 200

    response = exchange(http, code, verifier=verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_request_without_pkce_goes_back_with_invalid_request(dev_idp, http):
    params = authorize_params(verifier="unused", code_challenge=None, code_challenge_method=None)

    response = http.get("/dev-idp/authorize?" + urlencode(params))

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["af0ifjsldkj"]


def test_an_unregistered_redirect_uri_is_never_redirected_to(dev_idp, http):
    params = authorize_params(verifier="x" * 43, redirect_uri="https://evil.example/callback")

    response = http.get("/dev-idp/authorize?" + urlencode(params))

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert b"https://evil.example/callback is not supported" in response.content


def test_the_authorize_page_lists_test_users_and_allows_the_form_to_post(dev_idp, http):
    response = http.get("/dev-idp/authorize?" + urlencode(authorize_params(verifier="x" * 43)))

    assert response.status_code == 200
    assert b"ada@example.com" in response.content
    assert "form-action 'self' http://127.0.0.1:8000;" in response["Content-Security-Policy"]


def test_cancel_goes_back_with_access_denied(dev_idp, http):
    url = "/dev-idp/authorize?" + urlencode(authorize_params(verifier="x" * 43))

    response = http.post(url, {"cancel": "1"})

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["af0ifjsldkj"]


@pytest.mark.parametrize(("debug", "requested"), [(False, True), (True, False), (False, False)])
@pytest.mark.parametrize("path", [DISCOVERY, "/dev-idp/authorize", "/dev-idp/jwks"])
def test_every_endpoint_is_404_unless_debug_and_requested(dev_idp, http, debug, requested, path):
    dev_idp.DEBUG = debug
    dev_idp.SOCIAL_DEV_PROVIDER = requested

    assert http.get(path).status_code == 404
    assert http.post("/dev-idp/token", {"grant_type": "authorization_code"}).status_code == 404


def check_ids() -> set[str]:
    return {message.id for message in run_checks()}


def test_the_system_check_refuses_the_dev_provider_without_debug(settings):
    settings.DEBUG = False
    settings.SOCIAL_DEV_PROVIDER = True

    assert "devidp.E001" in check_ids()


@pytest.mark.parametrize(("debug", "requested"), [(True, True), (False, False)])
def test_the_system_check_is_quiet_otherwise(settings, debug, requested):
    settings.DEBUG = debug
    settings.SOCIAL_DEV_PROVIDER = requested

    assert "devidp.E001" not in check_ids()


def test_every_worker_and_thread_signs_with_the_one_published_key():
    from concurrent.futures import ThreadPoolExecutor

    from devidp.server import _imported_key, jwks, signing_key

    with ThreadPoolExecutor(max_workers=4) as pool:
        first_kids = set(pool.map(lambda _: signing_key().kid, range(4)))
    _imported_key.cache_clear()  # another process starts with nothing but the shared cache

    assert len(first_kids) == 1
    assert signing_key().kid in first_kids
    assert [key["kid"] for key in jwks()["keys"]] == list(first_kids)
