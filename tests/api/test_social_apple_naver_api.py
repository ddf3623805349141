"""Sign in with Apple and Naver through the redirect flow (and Apple's native id_token), against mocks.

Apple: the authorization URL asks for response_mode=form_post, Apple posts the code to
/form-post, which hands code and state to the frontend's redirect_uri; /callback exchanges
the code with an ES256 client secret. Naver: plain OAuth 2.0 with its resultcode envelope.
"""

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.checks import run_checks
from joserfc import jwt

from core.models import User
from social.conf import social_settings
from social.providers.apple import client_secret
from social.providers.apple.mapping import apple_identity, apple_user_name
from tests import social_mocks as mocks
from tests.api.test_social_api import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("social")]

APPLE_KEY = mocks.APPLE_KEY


@pytest.fixture(autouse=True)
def apple_and_naver(settings):
    for name, value in {**mocks.APPLE_SETTINGS, **mocks.NAVER_SETTINGS}.items():
        setattr(settings, name, value)
    client_secret._apple_secrets.clear()
    yield
    client_secret._apple_secrets.clear()


def test_providers_list_naver_and_apple_with_what_they_take_natively(client):
    listed = {p["name"]: p["native"] for p in client.get("/auth/social/providers").json()}

    assert list(listed) == ["kakao", "naver", "google", "apple", "acme"]
    assert (listed["naver"], listed["apple"]) == ([], ["id_token"])


# --- Apple: the redirect flow ---------------------------------------------------------------------


def form_post(client, *, state: str, **fields):
    return client.post("/auth/social/apple/form-post", data={"state": state, **fields})


def apple_redirect_login(client, rsps, *, user: str | None = None, **claim_changes):
    """The whole browser flow: authorize, Apple's form post, the frontend's callback."""
    mocks.APPLE.mock_metadata(rsps)
    params = mocks.authorize(client, "apple")
    fields = {"code": "c1e2d3.0.mrxs.apple-code", "id_token": "ignored", **({"user": user} if user else {})}
    forwarded = form_post(client, state=params["state"], **fields)
    assert forwarded.status_code == 303, forwarded.content
    query = mocks.query_of(forwarded["Location"])
    claims = mocks.APPLE.claims(nonce=params["nonce"], **claim_changes)
    token_call = rsps.post(mocks.APPLE.token_endpoint, json=mocks.APPLE.token(mocks.APPLE.id_token(claims)))
    response = mocks.callback(client, "apple", state=query["state"], code=query["code"])
    return response, token_call


def test_apple_authorize_asks_for_form_post_to_the_backend(client, rsps):
    mocks.APPLE.mock_metadata(rsps)

    params = mocks.authorize(client, "apple")

    assert params["response_mode"] == "form_post"
    assert params["redirect_uri"] == mocks.APPLE_FORM_POST_URI
    assert params["client_id"] == mocks.APPLE_SERVICES_ID
    assert params["scope"] == "name email"
    assert params["nonce"]


def test_apple_form_post_hands_code_and_state_to_the_frontend_callback(client, rsps):
    mocks.APPLE.mock_metadata(rsps)
    state = mocks.authorize(client, "apple")["state"]

    response = form_post(client, state=state, code="c1e2d3.0.mrxs.apple-code", user=mocks.apple_user())

    assert response.status_code == 303
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == mocks.REDIRECT_URI
    assert parse_qs(location.query) == {"code": ["c1e2d3.0.mrxs.apple-code"], "state": [state]}


def test_apple_sign_in_keeps_the_first_authorizations_name_and_trusts_the_relay_email(client, rsps):
    response, token_call = apple_redirect_login(client, rsps, user=mocks.apple_user("Ada", "Lovelace"))

    assert response.status_code == 200, response.json()
    user = response.json()["user"]
    assert user["display_name"] == "Ada Lovelace"
    assert user["email"] == "x7k2m9q4pz@privaterelay.appleid.com"
    form = mocks.form_of(token_call.calls[0])
    assert form["redirect_uri"] == mocks.APPLE_FORM_POST_URI
    assert form["client_id"] == mocks.APPLE_SERVICES_ID


def test_apple_later_sign_in_without_a_name_keeps_the_one_it_had(client, rsps):
    first, _ = apple_redirect_login(client, rsps, user=mocks.apple_user("Ada", "Lovelace"))

    again, _ = apple_redirect_login(client, rsps)

    assert again.json()["created"] is False
    assert again.json()["user"]["display_name"] == "Ada Lovelace"
    assert again.json()["user"]["id"] == first.json()["user"]["id"]


def test_apple_client_secret_is_an_es256_jwt_from_team_key_and_services_id(client, rsps):
    _, token_call = apple_redirect_login(client, rsps)

    secret = mocks.form_of(token_call.calls[0])["client_secret"]
    token = jwt.decode(secret, APPLE_KEY, algorithms=["ES256"])
    assert (token.header["alg"], token.header["kid"]) == ("ES256", mocks.APPLE_KEY_ID)
    claims = token.claims
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        mocks.APPLE_TEAM_ID,
        mocks.APPLE_SERVICES_ID,
        "https://appleid.apple.com",
    )
    assert claims["exp"] - claims["iat"] == client_secret.APPLE_CLIENT_SECRET_TTL


def secret_of(config) -> dict:
    return jwt.decode(client_secret.apple_client_secret(config), APPLE_KEY, algorithms=["ES256"]).claims


def test_apple_client_secret_is_reused_then_signed_again_before_it_expires():
    config = social_settings().providers["apple"]
    with time_machine.travel("2026-03-01 12:00:00", tick=False) as clock:
        first = secret_of(config)
        clock.shift(client_secret.APPLE_CLIENT_SECRET_TTL - client_secret.APPLE_CLIENT_SECRET_RENEW_BEFORE - 1)
        assert secret_of(config) == first

        clock.shift(2)
        renewed = secret_of(config)

    assert renewed["iat"] > first["iat"]
    assert renewed["exp"] > first["exp"]


def test_apple_refusing_an_expired_client_secret_is_provider_unavailable(client, rsps):
    """Apple answers invalid_client when the secret has expired or was signed with the wrong key."""
    mocks.APPLE.mock_metadata(rsps)
    state = mocks.authorize(client, "apple")["state"]
    rsps.post(mocks.APPLE.token_endpoint, json={"error": "invalid_client"}, status=400)

    response = mocks.callback(client, "apple", state=state, code="c1e2d3.0.mrxs.apple-code")

    body = assert_problem(response, 502, "provider_unavailable")
    assert body["provider_error"] == "invalid_client"


def test_apple_private_key_never_reaches_a_log_or_a_repr(client, rsps, caplog, settings):
    caplog.set_level("DEBUG")
    _, token_call = apple_redirect_login(client, rsps)
    secret = mocks.form_of(token_call.calls[0])["client_secret"]

    assert "PRIVATE KEY" not in repr(social_settings().providers["apple"])
    assert "PRIVATE KEY" not in caplog.text
    assert secret not in caplog.text


def test_apple_form_post_with_an_error_forwards_it(client, rsps):
    mocks.APPLE.mock_metadata(rsps)
    state = mocks.authorize(client, "apple")["state"]

    response = form_post(client, state=state, error="user_cancelled_authorize")

    assert response.status_code == 303
    assert mocks.query_of(response["Location"]) == {"error": "user_cancelled_authorize", "state": state}


def test_apple_form_post_with_an_unknown_state_is_refused(client):
    assert_problem(form_post(client, state="made-up", code="c"), 400, "state_invalid")


def test_form_post_is_only_for_providers_that_post_codes(client):
    response = client.post("/auth/social/google/form-post", data={"state": "s", "code": "c"})

    assert_problem(response, 404, "provider_unknown")


def test_apple_form_post_leaves_the_state_for_the_callback_to_spend(client, rsps):
    mocks.APPLE.mock_metadata(rsps)
    state = mocks.authorize(client, "apple")["state"]
    assert form_post(client, state=state, code="c").status_code == 303
    assert form_post(client, state=state, code="c").status_code == 303
    rsps.post(mocks.APPLE.token_endpoint, json={"error": "invalid_grant"}, status=400)

    assert_problem(mocks.callback(client, "apple", state=state, code="c"), 400, "code_invalid")
    assert_problem(form_post(client, state=state, code="c"), 400, "state_invalid")


# --- Apple: native --------------------------------------------------------------------------------


def test_apple_native_id_token_for_the_bundle_id_with_hashed_nonce_signs_in(client, rsps):
    mocks.APPLE.mock_metadata(rsps)
    raw = "raw-nonce-from-the-ios-app"
    claims = mocks.APPLE.claims(nonce=hashlib.sha256(raw.encode()).hexdigest(), aud=mocks.APPLE_BUNDLE_ID)

    response = client.post("/auth/social/apple/token", json={"id_token": mocks.APPLE.id_token(claims), "nonce": raw})

    assert response.status_code == 200, response.json()
    assert response.json()["user"]["email"] == "x7k2m9q4pz@privaterelay.appleid.com"


def test_apple_native_first_authorization_name_is_kept(client, rsps):
    """Apple gives the iOS app the name once; the app passes it with the id_token, later sign-ins keep it."""
    mocks.APPLE.mock_metadata(rsps)

    def sign_in(jti: str, **body):
        # The app gives Apple's SDK the SHA-256 hex of its nonce, and sends the raw one.
        claims = mocks.APPLE.claims(nonce=hashlib.sha256(jti.encode()).hexdigest(), aud=mocks.APPLE_BUNDLE_ID, jti=jti)
        token = mocks.APPLE.id_token(claims)
        return client.post("/auth/social/apple/token", json={"id_token": token, "nonce": jti, **body})

    first = sign_in("first", display_name="Ada Lovelace")
    later = sign_in("later", display_name="Someone Else")

    assert first.json()["user"]["display_name"] == "Ada Lovelace"
    assert later.json()["user"]["display_name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("email", "email_verified", "is_private_email", "verified"),
    [
        ("ada@icloud.example", True, False, True),
        ("ada@icloud.example", "true", "false", True),
        ("ada@icloud.example", "false", "false", False),
        ("x7k2m9q4pz@privaterelay.appleid.com", "false", "true", True),
    ],
    ids=["bool", "string", "unverified", "private-relay"],
)
def test_apple_email_verification_reads_strings_and_relays(email, email_verified, is_private_email, verified):
    claims = mocks.APPLE.claims(
        nonce="n", email=email, email_verified=email_verified, is_private_email=is_private_email
    )

    assert apple_identity(claims).email_verified is verified


@pytest.mark.parametrize(
    ("user", "name"),
    [
        (mocks.apple_user("Ada", "Lovelace"), "Ada Lovelace"),
        ("not json", ""),
        (json.dumps({"name": 3}), ""),
        (None, ""),
    ],
    ids=["full", "not-json", "wrong-shape", "absent"],
)
def test_apple_user_name_reads_only_a_well_formed_name(user, name):
    assert apple_user_name(user) == name


# --- Naver ------------------------------------------------------------------------------------------


def naver_login(client, rsps, *, me: dict | None = None, me_status: int = 200, token: dict | None = None):
    token_call = rsps.post(mocks.NAVER_TOKEN_URL, json=token or mocks.naver_token())
    rsps.get(mocks.NAVER_USERINFO_URL, json=me or mocks.naver_me(), status=me_status)
    params = mocks.authorize(client, "naver")
    return mocks.callback(client, "naver", state=params["state"]), token_call, params


def test_naver_authorize_goes_to_nid_naver_com_with_state(client):
    response = client.post("/auth/social/naver/authorize", json={"redirect_uri": mocks.REDIRECT_URI})

    url = response.json()["authorization_url"]
    assert url.startswith(mocks.NAVER_AUTHORIZE_URL + "?")
    params = mocks.query_of(url)
    assert (params["client_id"], params["redirect_uri"], params["state"], params["response_type"]) == (
        mocks.NAVER_CLIENT_ID,
        mocks.REDIRECT_URI,
        response.json()["state"],
        "code",
    )


def test_naver_login_sends_the_state_to_the_token_endpoint_and_reads_the_envelope(client, rsps):
    response, token_call, params = naver_login(client, rsps)

    assert response.status_code == 200, response.json()
    form = mocks.form_of(token_call.calls[0])
    assert form["grant_type"] == "authorization_code"
    assert (form["state"], form["client_id"], form["client_secret"]) == (
        params["state"],
        mocks.NAVER_CLIENT_ID,
        mocks.NAVER_CLIENT_SECRET,
    )
    user = response.json()["user"]
    assert user["display_name"] == "OpenAPI"
    assert user["avatar_url"] == "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif"


def test_naver_email_is_not_trusted_by_default(client, rsps):
    existing = User.objects.create_user(email="openapi@naver.com")

    response, _, _ = naver_login(client, rsps)

    assert response.json()["created"] is True
    assert response.json()["user"]["id"] != existing.pk
    assert response.json()["user"]["email"] is None


def test_naver_email_trusted_when_configured(client, rsps, settings):
    settings.SOCIAL_NAVER_TRUST_EMAIL = True

    response, _, _ = naver_login(client, rsps)

    assert response.json()["user"]["email"] == "openapi@naver.com"


def test_naver_profile_error_envelope_is_provider_unavailable_with_its_resultcode(client, rsps):
    response, _, _ = naver_login(client, rsps, me=mocks.naver_error(), me_status=401)

    assert assert_problem(response, 502, "provider_unavailable")["provider_error"] == "024"


def test_naver_profile_envelope_without_success_is_provider_unavailable(client, rsps):
    response, _, _ = naver_login(client, rsps, me=mocks.naver_error(resultcode="028", message="No scope"))

    assert assert_problem(response, 502, "provider_unavailable")["provider_error"] == "028"


def test_naver_token_error_is_mapped_like_kakaos(client, rsps):
    response, _, _ = naver_login(client, rsps, token=mocks.naver_token_error())

    assert assert_problem(response, 502, "provider_unavailable")["provider_error"] == "invalid_request"


def test_naver_invalid_grant_is_code_invalid(client, rsps):
    token = mocks.naver_token_error(error="invalid_grant", description="invalid authorization code")
    response, _, _ = naver_login(client, rsps, token=token)

    assert_problem(response, 400, "code_invalid")


def test_naver_takes_no_native_token(client, rsps):
    response = client.post("/auth/social/naver/token", json={"access_token": "AAAAQosjWDJieBiQ"})

    assert_problem(response, 400, "native_token_unsupported")
    assert not rsps.calls


# --- incomplete settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "provider", "named"),
    [
        ("SOCIAL_APPLE_TEAM_ID", "apple", "SOCIAL_APPLE_TEAM_ID"),
        ("SOCIAL_APPLE_PRIVATE_KEY", "apple", "SOCIAL_APPLE_PRIVATE_KEY or SOCIAL_APPLE_PRIVATE_KEY_FILE"),
        ("SOCIAL_APPLE_FORM_POST_URI", "apple", "SOCIAL_APPLE_FORM_POST_URI"),
        ("SOCIAL_NAVER_CLIENT_SECRET", "naver", "SOCIAL_NAVER_CLIENT_SECRET"),
    ],
)
def test_a_provider_missing_a_setting_is_not_offered_and_the_check_names_it(client, settings, setting, provider, named):
    setattr(settings, setting, "")

    assert provider not in [p["name"] for p in client.get("/auth/social/providers").json()]
    warnings = [message for message in run_checks() if message.id == "social.W001"]
    assert len(warnings) == 1
    assert named in warnings[0].msg


def test_apple_key_file_is_read_when_the_key_is_not_inline(client, settings, tmp_path):
    key_file = tmp_path / "AuthKey_KEY123ABCD.p8"
    key_file.write_text(settings.SOCIAL_APPLE_PRIVATE_KEY)
    settings.SOCIAL_APPLE_PRIVATE_KEY = ""
    settings.SOCIAL_APPLE_PRIVATE_KEY_FILE = str(key_file)

    assert "apple" in [p["name"] for p in client.get("/auth/social/providers").json()]


def test_an_unusable_apple_key_is_a_check_error(settings):
    settings.SOCIAL_APPLE_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"

    assert [message.id for message in run_checks() if message.id.startswith("social.")] == ["social.E002"]


def test_complete_settings_raise_no_social_check(settings):
    assert not [message for message in run_checks() if message.id.startswith("social.")]
