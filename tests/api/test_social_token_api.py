"""POST /api/auth/social/{provider}/token: signing in with a token a native SDK obtained.

Google's and "acme"'s id_tokens are signed by the keys of tests/social_mocks.py and verified
through their mocked discovery documents and JWKS; Kakao's access token is checked against
Kakao's token info (`app_id`) before its user is fetched.
"""

import hashlib
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import User
from social.models import SocialAccount
from tests import social_mocks as mocks
from tests.api.test_social_api import assert_problem
from tests.conftest import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("social")]

RAW_NONCE = "raw-nonce-the-app-generated-Qx7"


def google_id_token(**changes) -> str:
    claims = mocks.GOOGLE.claims(
        **{"nonce": RAW_NONCE, "aud": mocks.GOOGLE_IOS_CLIENT_ID, "azp": mocks.GOOGLE_IOS_CLIENT_ID, **changes}
    )
    return mocks.GOOGLE.id_token({key: value for key, value in claims.items() if value is not None})


def sign_in(client, provider: str, **body):
    return client.post(f"/auth/social/{provider}/token", json=body)


# --- id_token ---------------------------------------------------------------------------------


def test_google_id_token_of_the_ios_app_signs_in_like_a_callback(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    response = sign_in(client, "google", id_token=google_id_token(email="ada@gmail.com"), nonce=RAW_NONCE)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["created"] is True
    assert body["user"]["email"] == "ada@gmail.com"
    assert client.get("/users/me", headers=bearer(body["access"])).status_code == 200
    assert SocialAccount.objects.get(provider="google").subject == "110169484474386276334"


@pytest.mark.parametrize(
    "audience",
    [mocks.GOOGLE_CLIENT_ID, mocks.GOOGLE_ANDROID_CLIENT_ID],
    ids=["web-client", "android-client"],
)
def test_each_allowed_client_id_is_an_accepted_audience(client, rsps, audience):
    mocks.GOOGLE.mock_metadata(rsps)

    response = sign_in(client, "google", id_token=google_id_token(aud=audience, azp=audience), nonce=RAW_NONCE)

    assert response.status_code == 200, response.json()


def test_android_token_for_the_web_client_with_the_app_as_azp_is_accepted(client, rsps):
    """Google Sign-In on Android: `aud` is the server's (web) client ID, `azp` the Android one."""
    mocks.GOOGLE.mock_metadata(rsps)
    token = google_id_token(aud=mocks.GOOGLE_CLIENT_ID, azp=mocks.GOOGLE_ANDROID_CLIENT_ID)

    assert sign_in(client, "google", id_token=token, nonce=RAW_NONCE).status_code == 200


def test_second_sign_in_of_the_identity_finds_the_same_user(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    first = sign_in(client, "google", id_token=google_id_token(), nonce=RAW_NONCE).json()

    again = sign_in(client, "google", id_token=google_id_token(jti="another-token"), nonce=RAW_NONCE).json()

    assert again["created"] is False
    assert again["user"]["id"] == first["user"]["id"]


def test_verified_email_links_to_the_existing_user_as_callback_does(client, rsps):
    existing = User.objects.create_user(email="ada@gmail.com")
    mocks.GOOGLE.mock_metadata(rsps)

    body = sign_in(client, "google", id_token=google_id_token(email="ada@gmail.com"), nonce=RAW_NONCE).json()

    assert (body["created"], body["user"]["id"]) == (False, existing.id)


def test_generic_provider_accepts_its_configured_native_client_id(client, rsps):
    mocks.ACME.mock_metadata(rsps)
    claims = mocks.ACME.claims(nonce=RAW_NONCE, aud=mocks.ACME_NATIVE_CLIENT_ID, azp=mocks.ACME_NATIVE_CLIENT_ID)

    response = sign_in(client, "acme", id_token=mocks.ACME.id_token(claims), nonce=RAW_NONCE)

    assert response.status_code == 200, response.json()


# --- id_token refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "123456789012-someone-elses-app.apps.googleusercontent.com", "azp": None},
        {"aud": mocks.ACME_NATIVE_CLIENT_ID, "azp": None},
        {"aud": mocks.GOOGLE_IOS_CLIENT_ID, "azp": "123456789012-someone-elses-app.apps.googleusercontent.com"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        {"iss": mocks.ACME.issuer},
    ],
    ids=["wrong-audience", "client-id-of-another-provider", "azp-of-another-app", "expired", "another-issuer"],
)
def test_id_token_refusals(client, rsps, changes):
    mocks.GOOGLE.mock_metadata(rsps)

    response = sign_in(client, "google", id_token=google_id_token(**changes), nonce=RAW_NONCE)

    assert_problem(response, 400, "id_token_invalid")
    assert not User.objects.exists()


def test_id_token_signed_by_another_provider_is_refused(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    claims = mocks.ACME.claims(nonce=RAW_NONCE, aud=mocks.GOOGLE_IOS_CLIENT_ID, iss=mocks.GOOGLE.issuer)
    foreign = mocks.ACME.id_token(claims, key=mocks.another_key("acme-signing-key"))

    assert_problem(sign_in(client, "google", id_token=foreign, nonce=RAW_NONCE), 400, "id_token_invalid")


def test_nonce_may_be_the_sha256_hex_of_the_raw_one_as_apple_sends_it(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    hashed = hashlib.sha256(RAW_NONCE.encode()).hexdigest()

    assert sign_in(client, "google", id_token=google_id_token(nonce=hashed), nonce=RAW_NONCE).status_code == 200


@pytest.mark.parametrize(
    ("token_nonce", "request_nonce"),
    [
        ("another-nonce", RAW_NONCE),
        (hashlib.sha256(b"another-nonce").hexdigest(), RAW_NONCE),
        (None, RAW_NONCE),
        (RAW_NONCE, None),
    ],
    ids=["mismatched", "hash-of-another", "token-without-nonce", "request-without-nonce"],
)
def test_nonce_missing_or_mismatched_is_refused(client, rsps, settings, token_nonce, request_nonce):
    """The claim rule itself: with Google's nonce requirement on, a request without one stops earlier (below)."""
    settings.SOCIAL_GOOGLE_REQUIRE_NONCE = False
    mocks.GOOGLE.mock_metadata(rsps)
    body = {"id_token": google_id_token(nonce=token_nonce)}
    if request_nonce:
        body["nonce"] = request_nonce

    assert_problem(sign_in(client, "google", **body), 400, "id_token_invalid")


def test_id_token_without_nonce_is_accepted_when_the_request_has_none(client, rsps, settings):
    settings.SOCIAL_GOOGLE_REQUIRE_NONCE = False
    mocks.GOOGLE.mock_metadata(rsps)

    assert sign_in(client, "google", id_token=google_id_token(nonce=None)).status_code == 200


@pytest.mark.parametrize("token_nonce", [None, RAW_NONCE], ids=["token-without-nonce", "token-with-nonce"])
@pytest.mark.parametrize("provider", ["google", "apple"])
def test_google_and_apple_refuse_an_id_token_sent_without_its_nonce(client, rsps, settings, provider, token_nonce):
    """Issue 25: their SDKs all take a nonce, so one without is refused by default (SOCIAL_*_REQUIRE_NONCE)."""
    for name, value in mocks.APPLE_SETTINGS.items():
        setattr(settings, name, value)
    idp, audience = (
        (mocks.GOOGLE, mocks.GOOGLE_IOS_CLIENT_ID) if provider == "google" else (mocks.APPLE, mocks.APPLE_BUNDLE_ID)
    )
    idp.mock_metadata(rsps)
    claims = idp.claims(nonce=token_nonce, aud=audience, azp=audience)
    token = idp.id_token({key: value for key, value in claims.items() if value is not None})

    assert_problem(sign_in(client, provider, id_token=token), 400, "nonce_required")
    assert not User.objects.exists()
    # Refused before it was spent: the same token with its nonce still signs in.
    if token_nonce:
        assert sign_in(client, provider, id_token=token, nonce=token_nonce).status_code == 200


@pytest.mark.parametrize(
    ("provider", "require"),
    [("kakao", "SOCIAL_KAKAO_REQUIRE_NONCE"), ("acme", "require_nonce")],
)
def test_the_nonce_requirement_is_each_providers_own_setting(client, rsps, settings, provider, require):
    """Off by default for Kakao and configured providers: a token without one is accepted, until it is on."""
    idp = mocks.KAKAO_OIDC if provider == "kakao" else mocks.ACME
    audience = mocks.KAKAO_NATIVE_APP_KEY if provider == "kakao" else mocks.ACME_NATIVE_CLIENT_ID
    idp.mock_metadata(rsps)
    claims = {key: value for key, value in idp.claims(nonce=None, aud=audience).items() if key not in ("nonce", "azp")}

    assert sign_in(client, provider, id_token=idp.id_token({**claims, "jti": "first"})).status_code == 200

    if provider == "kakao":
        settings.SOCIAL_KAKAO_REQUIRE_NONCE = True
    else:
        settings.SOCIAL_OIDC_PROVIDERS = {"acme": {**mocks.ACME_ENTRY, "require_nonce": True}}
    assert_problem(sign_in(client, provider, id_token=idp.id_token({**claims, "jti": "second"})), 400, "nonce_required")


@pytest.mark.parametrize("jti", ["f0e1d2c3b4a5", None], ids=["by-jti", "by-token-hash"])
def test_replayed_id_token_is_refused(client, rsps, jti):
    mocks.GOOGLE.mock_metadata(rsps)
    token = google_id_token(jti=jti)
    assert sign_in(client, "google", id_token=token, nonce=RAW_NONCE).status_code == 200

    replay = sign_in(client, "google", id_token=token, nonce=RAW_NONCE)

    body = assert_problem(replay, 400, "id_token_invalid")
    assert "already used" in body["detail"]


def test_a_refused_id_token_is_not_spent(client, rsps):
    """Only a token that verified is remembered: a refusal leaves nothing to replay against."""
    mocks.GOOGLE.mock_metadata(rsps)
    token = google_id_token()
    assert_problem(sign_in(client, "google", id_token=token, nonce="wrong"), 400, "id_token_invalid")

    assert sign_in(client, "google", id_token=token, nonce=RAW_NONCE).status_code == 200


# --- Kakao's access token ---------------------------------------------------------------------


def mock_kakao_native(rsps, *, info: dict | None = None, user: dict | None = None):
    token_info = rsps.get(mocks.KAKAO_TOKEN_INFO_URL, json=info or mocks.kakao_token_info())
    me = rsps.get(mocks.KAKAO_USERINFO_URL, json=user or mocks.kakao_user())
    return token_info, me


def test_kakao_access_token_of_our_app_signs_in(client, rsps):
    token_info, me = mock_kakao_native(rsps)

    response = sign_in(client, "kakao", access_token="kakao-sdk-access-token")

    assert response.status_code == 200, response.json()
    assert response.json()["user"]["display_name"] == "민지"
    assert token_info.calls[0].request.headers["Authorization"] == "Bearer kakao-sdk-access-token"
    assert me.calls[0].request.headers["Authorization"] == "Bearer kakao-sdk-access-token"
    # The app is checked before the profile is fetched.
    assert [call.request.url.split("?")[0] for call in rsps.calls] == [
        mocks.KAKAO_TOKEN_INFO_URL,
        mocks.KAKAO_USERINFO_URL,
    ]


def test_kakao_access_token_of_another_app_is_token_audience_invalid(client, rsps):
    _info, me = mock_kakao_native(rsps, info=mocks.kakao_token_info(app_id=777777))

    assert_problem(sign_in(client, "kakao", access_token="other-apps-token"), 400, "token_audience_invalid")
    assert me.call_count == 0
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, mocks.kakao_api_error(code=-401, msg="this access token does not exist")),
        (401, mocks.kakao_api_error(code=-401, msg="this access token is already expired")),
        (400, mocks.kakao_api_error(code=-2, msg="invalid access token format")),
    ],
    ids=["unknown", "expired", "malformed"],
)
def test_kakao_access_token_unknown_or_expired_is_provider_token_invalid(client, rsps, status, body):
    rsps.get(mocks.KAKAO_TOKEN_INFO_URL, json=body, status=status)

    problem = assert_problem(sign_in(client, "kakao", access_token="stale"), 400, "provider_token_invalid")
    assert problem["provider_error"] == str(body["code"])


def test_kakao_token_info_failing_is_provider_unavailable(client, rsps):
    rsps.get(mocks.KAKAO_TOKEN_INFO_URL, json={"msg": "system error", "code": -1}, status=500)

    assert_problem(sign_in(client, "kakao", access_token="t"), 502, "provider_unavailable")


def test_kakao_token_info_about_another_user_than_the_profile_is_refused(client, rsps):
    mock_kakao_native(rsps, info=mocks.kakao_token_info(user_id=42))

    assert_problem(sign_in(client, "kakao", access_token="t"), 502, "provider_unavailable")


def test_kakao_without_app_id_or_app_keys_takes_no_native_token(client, rsps, settings):
    settings.SOCIAL_KAKAO_APP_ID = ""
    settings.SOCIAL_KAKAO_CLIENT_IDS = []

    assert_problem(sign_in(client, "kakao", access_token="t"), 400, "native_token_unsupported")
    assert_problem(sign_in(client, "kakao", id_token="eyJ.x.y"), 400, "native_token_unsupported")
    kakao = next(p for p in client.get("/auth/social/providers").json() if p["name"] == "kakao")
    assert kakao["native"] == []
    assert not rsps.calls


# --- Kakao's OpenID Connect id_token -------------------------------------------------------------


def kakao_id_token(**changes) -> str:
    return mocks.KAKAO_OIDC.id_token(mocks.KAKAO_OIDC.claims(**{"nonce": RAW_NONCE, **changes}))


def test_kakao_id_token_of_the_native_app_signs_in_as_the_same_kakao_account(client, rsps):
    mocks.KAKAO_OIDC.mock_metadata(rsps)
    by_id_token = sign_in(client, "kakao", id_token=kakao_id_token(), nonce=RAW_NONCE)
    assert by_id_token.status_code == 200, by_id_token.json()
    mock_kakao_native(rsps)

    by_access_token = sign_in(client, "kakao", access_token="kakao-sdk-access-token")

    assert by_access_token.json()["user"]["id"] == by_id_token.json()["user"]["id"]
    assert SocialAccount.objects.get().subject == str(mocks.KAKAO_USER_ID)


def test_kakao_id_token_email_is_never_trusted(client, rsps):
    """Kakao's three verification flags are in /v2/user/me only, not in its id_token."""
    existing = User.objects.create_user(email="minji@kakao.example")
    mocks.KAKAO_OIDC.mock_metadata(rsps)

    body = sign_in(client, "kakao", id_token=kakao_id_token(), nonce=RAW_NONCE).json()

    assert body["created"] is True
    assert body["user"]["id"] != existing.pk
    assert body["user"]["email"] is None


@pytest.mark.parametrize(
    "changes",
    [{"aud": "another-kakao-apps-key"}, {"iss": "https://kauth.kakao.com/"}, {"nonce": "other"}],
    ids=["another-app", "issuer", "nonce"],
)
def test_kakao_id_token_refusals(client, rsps, changes):
    mocks.KAKAO_OIDC.mock_metadata(rsps)

    assert_problem(
        sign_in(client, "kakao", id_token=kakao_id_token(**changes), nonce=RAW_NONCE), 400, "id_token_invalid"
    )


@pytest.mark.parametrize(
    ("provider", "body"),
    [("acme", {"access_token": "opaque"}), ("google", {"access_token": "ya29.token"})],
    ids=["acme-access-token", "google-access-token"],
)
def test_a_kind_of_token_the_provider_does_not_take_is_refused(client, rsps, provider, body):
    assert_problem(sign_in(client, provider, **body), 400, "native_token_unsupported")


# --- the request ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{}, {"id_token": "a", "access_token": "b"}, {"access_token": "b", "nonce": "n"}, {"nonce": "n"}],
    ids=["none", "both", "nonce-with-access-token", "nonce-alone"],
)
def test_body_must_carry_exactly_one_token(client, body):
    assert_problem(sign_in(client, "google", **body), 422, "validation_error")


def test_unknown_provider_is_404(client):
    assert_problem(sign_in(client, "facebook", access_token="t"), 404, "provider_unknown")


def test_token_shares_the_sign_in_throttle(client, rsps, settings):
    settings.API_THROTTLE_RATES = {"sign_in": "2/min", "tokens": "2/min"}
    settings.SOCIAL_KAKAO_APP_ID = ""

    statuses = [sign_in(client, "kakao", access_token="t").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_a_returning_users_token_sign_in_costs_the_queries_of_a_callback(client, rsps):
    """One account lookup, its update, the user's last_login, whether the user has a second factor
    (mfa.services.sign_in), the session and its refresh token, and the count of the user's sessions
    (JWT_MAX_SESSIONS_PER_USER)."""
    mocks.GOOGLE.mock_metadata(rsps)
    # From a device the user signed in from (a new one adds its notice's queries): the browser sends the
    # `device` cookie of this first sign-in, the app its device token.
    first = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google").json()
    device = {"device_token": first["device_token"]}

    with CaptureQueriesContext(connection) as by_token:
        again = sign_in(client, "google", id_token=google_id_token(jti="again"), nonce=RAW_NONCE, **device)
        assert again.status_code == 200
    with CaptureQueriesContext(connection) as by_callback:
        assert mocks.login_oidc(client, rsps, mocks.GOOGLE, "google").status_code == 200

    statements = [query["sql"].split()[0] for query in by_token.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert statements == ["SELECT", "UPDATE", "UPDATE", "SELECT", "INSERT", "INSERT", "SELECT"]
    assert len(by_token.captured_queries) == len(by_callback.captured_queries)
