"""The social login endpoints end to end, with Kakao, Google and "acme" mocked by `responses`."""

import base64
import hashlib
from datetime import timedelta

import pytest
import requests
import time_machine
from django.core.cache import cache
from django.utils import timezone

from core.models import User
from social.models import SocialAccount
from tests import social_mocks as mocks
from tests.api.test_accounts_api import register
from tests.conftest import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("social")]

TIMEOUT = (3, 10)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json()
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def pending_login(state: str) -> dict:
    return cache.get(f"social:pending:{state}")


# --- providers ---------------------------------------------------------------------------


def test_providers_lists_the_configured_ones_in_order(client):
    response = client.get("/auth/social/providers")

    assert response.status_code == 200
    assert response.json() == [
        {"name": "kakao", "display_name": "Kakao", "native": ["access_token", "id_token"]},
        {"name": "google", "display_name": "Google", "native": ["id_token"]},
        {"name": "acme", "display_name": "Acme ID", "native": ["id_token"]},
    ]


def test_a_provider_without_client_id_is_not_offered(client, settings):
    settings.SOCIAL_GOOGLE_CLIENT_ID = ""

    assert [p["name"] for p in client.get("/auth/social/providers").json()] == ["kakao", "acme"]
    response = client.post("/auth/social/google/authorize", json={"redirect_uri": mocks.REDIRECT_URI})
    assert_problem(response, 404, "provider_unknown")


# --- authorize -----------------------------------------------------------------------------


def test_kakao_authorize_url_carries_client_redirect_scope_state_and_s256_challenge(client):
    response = client.post("/auth/social/kakao/authorize", json={"redirect_uri": mocks.REDIRECT_URI})

    assert response.status_code == 200
    url, state = response.json()["authorization_url"], response.json()["state"]
    assert url.startswith(mocks.KAKAO_AUTHORIZE_URL + "?")
    params = mocks.query_of(url)
    pending = pending_login(state)
    assert params == {
        "response_type": "code",
        "client_id": mocks.KAKAO_CLIENT_ID,
        "redirect_uri": mocks.REDIRECT_URI,
        "scope": "profile_nickname profile_image account_email",
        "state": state,
        "code_challenge": s256(pending["code_verifier"]),
        "code_challenge_method": "S256",
    }
    assert pending["provider"] == "kakao"
    assert pending["redirect_uri"] == mocks.REDIRECT_URI
    assert pending["nonce"] is None
    # At least 128 bits: 32 random bytes in base64url.
    assert len(state) >= 43


def test_google_authorize_url_comes_from_discovery_and_carries_a_nonce(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    response = client.post("/auth/social/google/authorize", json={"redirect_uri": mocks.REDIRECT_URI})

    assert response.status_code == 200
    url, state = response.json()["authorization_url"], response.json()["state"]
    assert url.startswith(mocks.GOOGLE.authorization_endpoint + "?")
    params = mocks.query_of(url)
    pending = pending_login(state)
    assert params["client_id"] == mocks.GOOGLE_CLIENT_ID
    assert params["redirect_uri"] == mocks.REDIRECT_URI
    assert params["scope"] == "openid email profile"
    assert params["code_challenge"] == s256(pending["code_verifier"])
    assert params["code_challenge_method"] == "S256"
    assert params["nonce"] == pending["nonce"]
    assert len(params["nonce"]) >= 32
    assert rsps.calls[0].request.req_kwargs["timeout"] == TIMEOUT


def test_each_authorize_makes_a_fresh_state_verifier_and_nonce(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    first, second = mocks.authorize(client, "google"), mocks.authorize(client, "google")

    assert first["state"] != second["state"]
    assert first["nonce"] != second["nonce"]
    assert first["code_challenge"] != second["code_challenge"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        mocks.REDIRECT_URI + "/",
        mocks.REDIRECT_URI.upper(),
        mocks.REDIRECT_URI + "?next=/admin",
        "https://evil.example/auth/callback",
    ],
)
def test_redirect_uri_must_match_an_allowed_one_exactly(client, redirect_uri):
    response = client.post("/auth/social/kakao/authorize", json={"redirect_uri": redirect_uri})

    assert_problem(response, 400, "redirect_uri_not_allowed")


def test_unknown_provider_is_404(client):
    response = client.post("/auth/social/myspace/authorize", json={"redirect_uri": mocks.REDIRECT_URI})

    assert_problem(response, 404, "provider_unknown")
    assert_problem(
        client.post("/auth/social/myspace/callback", json={"code": "c", "state": "s"}), 404, "provider_unknown"
    )


# --- callback: happy paths -------------------------------------------------------------------


def test_kakao_login_creates_the_user_and_the_tokens_work(client, rsps):
    response = mocks.login_kakao(client, rsps)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["created"] is True
    assert body["expires_in"] > 0
    assert body["refresh_expires_in"] > 0
    assert body["user"]["email"] == "minji@kakao.example"
    assert body["user"]["display_name"] == "민지"
    assert body["user"]["avatar_url"] == "https://k.kakaocdn.net/dn/abc/img_640x640.jpg"
    me = client.get("/users/me", headers=bearer(body["access"]))
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    account = SocialAccount.objects.get(provider="kakao", subject=str(mocks.KAKAO_USER_ID))
    assert account.user_id == body["user"]["id"]
    assert account.email_verified is True
    assert account.profile["kakao_account"]["profile"]["nickname"] == "민지"


def test_kakao_token_request_sends_code_redirect_verifier_and_credentials(client, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    verifier = pending_login(state)["code_verifier"]

    mocks.callback(client, "kakao", state=state, code="kakao-code-123")

    token_call, user_call = rsps.calls
    assert token_call.request.url == mocks.KAKAO_TOKEN_URL
    assert token_call.request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert mocks.form_of(token_call) == {
        "grant_type": "authorization_code",
        "code": "kakao-code-123",
        "redirect_uri": mocks.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": mocks.KAKAO_CLIENT_ID,
        "client_secret": mocks.KAKAO_CLIENT_SECRET,
    }
    # Kakao says "bearer" in lower case; the user-info request still carries it properly.
    assert user_call.request.headers["Authorization"] == "Bearer kakao-access-token-Xq1"
    assert token_call.request.req_kwargs["timeout"] == TIMEOUT
    assert user_call.request.req_kwargs["timeout"] == TIMEOUT


def test_kakao_without_client_secret_sends_none(client, rsps, settings):
    settings.SOCIAL_KAKAO_CLIENT_SECRET = ""

    assert mocks.login_kakao(client, rsps).status_code == 200

    assert "client_secret" not in mocks.form_of(rsps.calls[0])
    assert mocks.form_of(rsps.calls[0])["client_id"] == mocks.KAKAO_CLIENT_ID


def test_kakao_user_without_email_can_sign_in(client, rsps):
    response = mocks.login_kakao(client, rsps, user=mocks.kakao_user(has_email=False))

    assert response.status_code == 200
    assert response.json()["user"]["email"] is None
    assert response.json()["created"] is True


def test_second_kakao_login_finds_the_same_user(client, rsps):
    first = mocks.login_kakao(client, rsps).json()
    second = mocks.login_kakao(client, rsps).json()

    assert second["created"] is False
    assert second["user"]["id"] == first["user"]["id"]
    assert SocialAccount.objects.count() == 1


def test_a_disabled_user_cannot_sign_in(client, rsps):
    first = mocks.login_kakao(client, rsps).json()
    User.objects.filter(pk=first["user"]["id"]).update(is_active=False)

    assert_problem(mocks.login_kakao(client, rsps), 403, "account_disabled")


def test_google_login_verifies_the_id_token_and_creates_the_user(client, rsps):
    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email="ada@gmail.com")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["created"] is True
    assert body["user"]["email"] == "ada@gmail.com"
    assert body["user"]["display_name"] == "Ada Lovelace"
    assert client.get("/users/me", headers=bearer(body["access"])).json()["email"] == "ada@gmail.com"
    account = SocialAccount.objects.get(provider="google")
    assert account.subject == "110169484474386276334"
    assert account.profile["email_verified"] is True


def test_a_non_authoritative_google_address_stays_on_the_identity_and_its_owner_can_still_sign_up(client, rsps):
    """Issue 25: Google verified a non-Gmail address once, without `hd`; today it may be someone else's."""
    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email="ada@acme.example")

    assert response.status_code == 200, response.json()
    assert response.json()["user"]["email"] is None
    account = SocialAccount.objects.get(provider="google")
    assert (account.email, account.user.email, account.user.email_verified) == ("ada@acme.example", None, False)
    # The address is free: its real owner's sign-up makes their own account, not a note about this one.
    assert register(client, "ada@acme.example").status_code == 202
    owner = User.objects.get(email="ada@acme.example")
    assert owner.pk != account.user_id
    assert owner.email_verified is False


def test_google_token_request_sends_code_redirect_verifier_and_credentials(client, rsps):
    mocks.login_oidc(client, rsps, mocks.GOOGLE, "google")

    token_call = next(call for call in rsps.calls if call.request.url == mocks.GOOGLE.token_endpoint)
    form = mocks.form_of(token_call)
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "code-from-the-redirect"
    assert form["redirect_uri"] == mocks.REDIRECT_URI
    assert len(form["code_verifier"]) >= 43
    assert (form["client_id"], form["client_secret"]) == (mocks.GOOGLE_CLIENT_ID, mocks.GOOGLE_CLIENT_SECRET)
    assert all(call.request.req_kwargs["timeout"] == TIMEOUT for call in rsps.calls)


def test_generic_oidc_provider_logs_in_with_basic_client_auth(client, rsps):
    response = mocks.login_oidc(client, rsps, mocks.ACME, "acme", email="ada@acme.example")

    assert response.status_code == 200, response.json()
    token_call = next(call for call in rsps.calls if call.request.url == mocks.ACME.token_endpoint)
    # The discovery document lists only client_secret_basic.
    expected = base64.b64encode(f"{mocks.ACME_CLIENT_ID}:{mocks.ACME_CLIENT_SECRET}".encode()).decode()
    assert token_call.request.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in mocks.form_of(token_call)
    assert SocialAccount.objects.get().provider == "acme"


def test_client_info_goes_to_the_session(client, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]

    body = mocks.callback(client, "kakao", state=state, **{"User-Agent": "Frontend/1.0"}).json()

    sessions = client.get("/auth/sessions", headers=bearer(body["access"])).json()["items"]
    assert sessions[0]["user_agent"] == "Frontend/1.0"


# --- callback: state -------------------------------------------------------------------------


def test_state_is_single_use(client, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]

    assert mocks.callback(client, "kakao", state=state).status_code == 200
    assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")


def test_state_is_consumed_even_when_the_login_fails(client, rsps):
    rsps.post(mocks.KAKAO_TOKEN_URL, json=mocks.kakao_oauth_error(), status=400)
    state = mocks.authorize(client, "kakao")["state"]

    assert_problem(mocks.callback(client, "kakao", state=state), 400, "code_invalid")
    assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")
    assert len(rsps.calls) == 1


def test_unknown_state_is_refused_without_calling_the_provider(client, rsps):
    assert_problem(mocks.callback(client, "kakao", state="made-up"), 400, "state_invalid")
    assert len(rsps.calls) == 0


def test_expired_state_is_refused(client, rsps):
    state = mocks.authorize(client, "kakao")["state"]

    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")
    assert len(rsps.calls) == 0


def test_state_just_before_expiry_works(client, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]

    with time_machine.travel(timezone.now() + timedelta(seconds=590)):
        assert mocks.callback(client, "kakao", state=state).status_code == 200


def test_a_pending_login_past_its_own_expiry_is_refused_though_the_cache_still_has_it(client, rsps):
    # A shared cache may expire keys late: the pending login carries its own expiry for that.
    state = mocks.authorize(client, "kakao")["state"]
    assert cache.touch(f"social:pending:{state}", timeout=3600)

    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        body = assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")
    assert "too long" in body["detail"]
    assert len(rsps.calls) == 0
    assert pending_login(state) is None  # spent: a retry begins the login again


def test_state_of_another_provider_is_refused_and_spent(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    state = mocks.authorize(client, "google")["state"]

    assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")
    assert_problem(mocks.callback(client, "google", state=state), 400, "state_invalid")


# --- callback: bound to the browser that began the login (RFC 9700 §4.7.1) ----------------------


def test_authorize_sets_a_short_lived_httponly_binding_cookie(django_client):
    response = django_client.post(
        "/api/auth/social/kakao/authorize", {"redirect_uri": mocks.REDIRECT_URI}, content_type="application/json"
    )

    assert response.status_code == 200
    cookie = response.cookies["__Host-social_binding"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == 600
    # Only its hash waits with the login; the value itself is nowhere but in the browser.
    pending = pending_login(response.json()["state"])
    assert pending["binding_hash"] == hashlib.sha256(cookie.value.encode()).hexdigest()
    assert cookie.value not in response.content.decode()


def test_a_callback_from_another_browser_is_state_invalid_and_spends_the_state(client, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    binding = client.cookies.pop("__Host-social_binding")

    # The code and state leaked (a log, a history) and are redeemed without the victim's cookie.
    assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")
    # Spent: the victim's own browser cannot finish with it either.
    client.cookies["__Host-social_binding"] = binding
    assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")
    assert len(rsps.calls) == 0


def test_a_binding_cookie_of_another_login_is_state_invalid(client, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    mocks.authorize(client, "kakao")  # this browser's cookie now binds the second login

    assert_problem(mocks.callback(client, "kakao", state=state), 400, "state_invalid")


def test_a_successful_callback_deletes_the_binding_cookie(client, rsps):
    assert mocks.login_kakao(client, rsps).status_code == 200
    assert "__Host-social_binding" not in client.cookies


def test_with_the_binding_off_a_cookieless_client_signs_in(client, rsps, settings):
    settings.SOCIAL_BIND_TO_BROWSER = False
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    assert client.cookies == {}

    assert mocks.callback(client, "kakao", state=state).status_code == 200


# --- callback: the provider refuses or fails ---------------------------------------------------


def test_kakao_invalid_grant_is_code_invalid_with_kakao_error_code(client, rsps):
    rsps.post(mocks.KAKAO_TOKEN_URL, json=mocks.kakao_oauth_error(), status=400)
    state = mocks.authorize(client, "kakao")["state"]

    body = assert_problem(mocks.callback(client, "kakao", state=state), 400, "code_invalid")

    assert body["provider_error"] == "KOE320"
    assert "authorization code not found" not in body["detail"]
    assert User.objects.count() == 0


def test_google_invalid_grant_keeps_the_oauth_error(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    rsps.post(
        mocks.GOOGLE.token_endpoint, status=400, json={"error": "invalid_grant", "error_description": "Bad Request"}
    )
    state = mocks.authorize(client, "google")["state"]

    body = assert_problem(mocks.callback(client, "google", state=state), 400, "code_invalid")
    assert body["provider_error"] == "invalid_grant"


def test_other_oauth_errors_are_provider_unavailable(client, rsps):
    rsps.post(
        mocks.KAKAO_TOKEN_URL,
        status=401,
        json=mocks.kakao_oauth_error(error="invalid_client", error_code="KOE010", description="Bad client credentials"),
    )
    state = mocks.authorize(client, "kakao")["state"]

    body = assert_problem(mocks.callback(client, "kakao", state=state), 502, "provider_unavailable")
    assert body["provider_error"] == "KOE010"


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500, "json": {"error": "server_error"}},
        {"status": 503, "body": "<html><body>Service Unavailable</body></html>", "content_type": "text/html"},
        {"status": 200, "body": "<html><body>Login</body></html>", "content_type": "text/html"},
        {"status": 400, "body": "<html><body>Bad Request</body></html>", "content_type": "text/html"},
        {"status": 200, "json": ["not", "an", "object"]},
        {"body": requests.ConnectionError("Connection refused")},
    ],
    ids=["500-json", "503-html", "200-html", "400-html", "200-list", "connection-refused"],
)
def test_token_endpoint_failures_are_provider_unavailable(client, rsps, reply):
    rsps.post(mocks.KAKAO_TOKEN_URL, **reply)
    state = mocks.authorize(client, "kakao")["state"]

    assert_problem(mocks.callback(client, "kakao", state=state), 502, "provider_unavailable")


@pytest.mark.parametrize("error", [requests.ConnectTimeout, requests.ReadTimeout])
def test_token_endpoint_timeout_is_provider_timeout(client, rsps, error):
    rsps.post(mocks.KAKAO_TOKEN_URL, body=error("slow"))
    state = mocks.authorize(client, "kakao")["state"]

    assert_problem(mocks.callback(client, "kakao", state=state), 504, "provider_timeout")


def test_kakao_api_error_on_user_info_is_provider_unavailable(client, rsps):
    rsps.post(mocks.KAKAO_TOKEN_URL, json=mocks.kakao_token())
    rsps.get(mocks.KAKAO_USERINFO_URL, status=401, json=mocks.kakao_api_error())
    state = mocks.authorize(client, "kakao")["state"]

    body = assert_problem(mocks.callback(client, "kakao", state=state), 502, "provider_unavailable")
    assert body["provider_error"] == "-401"


@pytest.mark.parametrize(
    "user",
    [
        {**mocks.kakao_user(), "kakao_account": ["a", "list"]},
        {**mocks.kakao_user(), "kakao_account": {**mocks.kakao_user()["kakao_account"], "email": ["a@b.example"]}},
    ],
    ids=["account-list", "email-list"],
)
def test_kakao_user_info_of_the_wrong_shape_is_provider_unavailable(client, rsps, user):
    response = mocks.login_kakao(client, rsps, user=user)

    assert_problem(response, 502, "provider_unavailable")


def test_user_info_timeout_is_provider_timeout(client, rsps):
    rsps.post(mocks.KAKAO_TOKEN_URL, json=mocks.kakao_token())
    rsps.get(mocks.KAKAO_USERINFO_URL, body=requests.ReadTimeout("slow"))
    state = mocks.authorize(client, "kakao")["state"]

    assert_problem(mocks.callback(client, "kakao", state=state), 504, "provider_timeout")


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        ({"status": 500, "body": "oops"}, 502, "provider_unavailable"),
        ({"body": requests.ConnectionError("refused")}, 502, "provider_unavailable"),
        ({"body": requests.ConnectTimeout("slow")}, 504, "provider_timeout"),
    ],
)
def test_discovery_failures_on_authorize(client, rsps, reply, status, code):
    rsps.get(mocks.GOOGLE_DISCOVERY_URL, **reply)

    response = client.post("/auth/social/google/authorize", json={"redirect_uri": mocks.REDIRECT_URI})

    assert_problem(response, status, code)
    assert rsps.calls[0].request.req_kwargs["timeout"] == TIMEOUT


def test_timeouts_come_from_settings(client, rsps, settings):
    settings.SOCIAL_HTTP_CONNECT_TIMEOUT, settings.SOCIAL_HTTP_READ_TIMEOUT = 1, 2

    mocks.login_kakao(client, rsps)

    assert [call.request.req_kwargs["timeout"] for call in rsps.calls] == [(1, 2), (1, 2)]


# --- callback: id_token ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else.apps.googleusercontent.com"},
        {"iss": "https://evil.example"},
        {"nonce": "a-nonce-from-another-login"},
        {"exp": 1_000_000_000},
    ],
    ids=["aud", "iss", "nonce", "expired"],
)
def test_id_token_with_a_wrong_claim_is_refused(client, rsps, changes):
    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", **changes)

    assert_problem(response, 400, "id_token_invalid")
    assert User.objects.count() == 0


def test_id_token_signed_by_another_key_is_refused(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    params = mocks.authorize(client, "google")
    forged = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=params["nonce"]), key=mocks.another_key("key-1-forged"))
    rsps.post(mocks.GOOGLE.token_endpoint, json=mocks.GOOGLE.token(forged))

    assert_problem(mocks.callback(client, "google", state=params["state"]), 400, "id_token_invalid")


def test_token_response_without_id_token_is_refused(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    params = mocks.authorize(client, "google")
    rsps.post(mocks.GOOGLE.token_endpoint, json={"access_token": "ya29.x", "token_type": "Bearer"})

    assert_problem(mocks.callback(client, "google", state=params["state"]), 400, "id_token_invalid")


# --- users ----------------------------------------------------------------------------------


def test_verified_email_links_to_the_existing_user(client, rsps, user):
    """A Google Workspace address: its `hd` claim makes Google authoritative for it."""
    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email="ADA@example.com", hd="example.com")

    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["user"]["id"] == user.pk
    assert SocialAccount.objects.get().user == user


def test_gmail_address_links_to_the_existing_user(client, rsps):
    gmail_user = User.objects.create_user(email="ada.lovelace@gmail.com")

    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email="ada.lovelace@gmail.com")

    assert response.json()["user"]["id"] == gmail_user.pk


def test_google_non_gmail_address_without_hd_does_not_link(client, rsps, user):
    """Google's guidance: such an address was verified once, its owner may have changed since."""
    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email="ada@example.com")

    assert response.status_code == 200
    assert response.json()["created"] is True
    assert response.json()["user"]["id"] != user.pk


def test_untrusted_providers_verified_email_is_not_linked(client, rsps, user):
    """acme's entry does not say `trust_email`: its users might claim any address as verified."""
    response = mocks.login_oidc(client, rsps, mocks.ACME, "acme", email="ada@example.com")

    assert response.status_code == 200
    assert response.json()["created"] is True
    assert response.json()["user"]["email"] is None
    assert SocialAccount.objects.get().user != user


def test_provider_entry_trusted_for_email_links_and_fills_the_email(client, rsps, settings, user):
    settings.SOCIAL_OIDC_PROVIDERS = {"acme": {**settings.SOCIAL_OIDC_PROVIDERS["acme"], "trust_email": True}}

    linked = mocks.login_oidc(client, rsps, mocks.ACME, "acme", email="ada@example.com")
    assert linked.json()["user"]["id"] == user.pk

    fresh = mocks.login_oidc(client, rsps, mocks.ACME, "acme", sub="another", email="grace@acme.example")
    assert fresh.json()["user"]["email"] == "grace@acme.example"


def test_unverified_email_does_not_link(client, rsps, user):
    response = mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email="ada@example.com", email_verified=False)

    assert response.status_code == 200
    assert response.json()["created"] is True
    assert response.json()["user"]["id"] != user.pk
    assert response.json()["user"]["email"] is None
    account = SocialAccount.objects.get()
    assert (account.email, account.email_verified) == ("ada@example.com", False)


def test_require_email_refuses_a_kakao_user_without_one(client, rsps, settings):
    settings.SOCIAL_REQUIRE_EMAIL = True

    response = mocks.login_kakao(client, rsps, user=mocks.kakao_user(has_email=False))

    assert_problem(response, 400, "email_required")
    assert User.objects.count() == 0


def test_require_email_accepts_a_verified_one(client, rsps, settings):
    settings.SOCIAL_REQUIRE_EMAIL = True

    assert mocks.login_kakao(client, rsps).status_code == 200
