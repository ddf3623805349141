"""social.providers against mocked providers: id_token verification, keys, discovery, Kakao's user."""

import base64
import hashlib
import json
from unittest.mock import patch

import pytest
import time_machine
from django.core.cache import cache
from joserfc import jwt
from joserfc.jwk import RSAKey

from social.errors import IdTokenInvalid, ProviderUnavailable, ProviderUnknown
from social.providers.base import Identity
from social.providers.google.mapping import google_identity as google_mapping
from social.providers.kakao.mapping import kakao_identity
from social.providers.kakao.provider import KakaoProvider
from social.providers.oidc import METADATA_RETRY_AFTER, OpenIDConnectProvider, id_token_claims_check, oidc_identity
from social.selectors import provider_get
from tests import social_mocks as mocks

pytestmark = pytest.mark.usefixtures("social")

NONCE = "the-nonce-of-this-login"


def google_identity(rsps, *, id_token: str | None = None, nonce: str = NONCE, **changes):
    """The identity the Google provider makes of a token response holding this id_token."""
    token = id_token or mocks.GOOGLE.id_token(mocks.GOOGLE.claims(**{"nonce": NONCE, **changes}))
    return provider_get("google").identity(mocks.GOOGLE.token(token), nonce=nonce)


def test_provider_get_builds_the_class_of_each_kind():
    assert isinstance(provider_get("kakao"), KakaoProvider)
    assert isinstance(provider_get("google"), OpenIDConnectProvider)
    assert isinstance(provider_get("acme"), OpenIDConnectProvider)
    with pytest.raises(ProviderUnknown):
        provider_get("facebook")


# --- id_token -------------------------------------------------------------------------------


def test_valid_id_token_gives_the_identity(rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    identity = google_identity(rsps)

    assert identity.subject == "110169484474386276334"
    assert (identity.email, identity.email_verified) == ("ada@gmail.example", True)
    assert identity.display_name == "Ada Lovelace"
    assert identity.avatar_url == "https://lh3.googleusercontent.com/a/ACg8ocK=s96-c"


@pytest.mark.parametrize("email_verified", [False, "true", None])
def test_email_counts_as_verified_only_when_email_verified_is_true(rsps, email_verified):
    mocks.GOOGLE.mock_metadata(rsps)

    assert google_identity(rsps, email_verified=email_verified).email_verified is False


def test_google_bare_issuer_is_accepted(rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    assert google_identity(rsps, iss="accounts.google.com").subject


def test_bare_issuer_is_google_only(rsps):
    mocks.ACME.mock_metadata(rsps)
    claims = mocks.ACME.claims(nonce=NONCE, iss="accounts.google.com")

    with pytest.raises(IdTokenInvalid):
        provider_get("acme").identity(mocks.ACME.token(mocks.ACME.id_token(claims)), nonce=NONCE)


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"aud": ["someone-else", "another"]},
        {"aud": [mocks.GOOGLE_CLIENT_ID, "another"], "azp": "another"},
        {"azp": "another-client"},
        {"iss": "https://accounts.google.com/"},
        {"nonce": "another-nonce"},
        {"exp": 1_000_000_000},
        {"iat": 4_000_000_000},
        {"exp": "tomorrow"},
        {"sub": None},
    ],
    ids=["aud", "aud-list", "azp-of-list", "azp", "iss-slash", "nonce", "expired", "iat-future", "exp-type", "sub"],
)
def test_id_token_claims_are_checked(rsps, changes):
    mocks.GOOGLE.mock_metadata(rsps)

    with pytest.raises(IdTokenInvalid):
        google_identity(rsps, **changes)


def test_audience_list_with_azp_of_this_client_is_accepted(rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    assert google_identity(rsps, aud=[mocks.GOOGLE_CLIENT_ID, "another"], azp=mocks.GOOGLE_CLIENT_ID).subject


@pytest.mark.parametrize("drop", ["exp", "iat", "iss", "aud", "nonce"])
def test_id_token_missing_a_required_claim_is_refused(rsps, drop):
    mocks.GOOGLE.mock_metadata(rsps)
    claims = mocks.GOOGLE.claims(nonce=NONCE)
    del claims[drop]

    with pytest.raises(IdTokenInvalid):
        google_identity(rsps, id_token=mocks.GOOGLE.id_token(claims))


def test_exp_within_the_leeway_is_accepted(rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    claims = mocks.GOOGLE.claims(nonce=NONCE)

    assert google_identity(rsps, exp=claims["iat"] - 30).subject


def test_unsigned_id_token_is_refused(rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    signed = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE))
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "key-1"}).encode()).rstrip(b"=").decode()
    unsigned = f"{header}.{signed.split('.')[1]}."

    with pytest.raises(IdTokenInvalid):
        google_identity(rsps, id_token=unsigned)


def test_tampered_payload_is_refused(rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    head, _payload, signature = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE)).split(".")
    other = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE, sub="someone-else")).split(".")[1]

    with pytest.raises(IdTokenInvalid):
        google_identity(rsps, id_token=f"{head}.{other}.{signature}")


@pytest.mark.parametrize(("allowed", "accepted"), [(["RS256"], False), (["RS512"], True), (["none", "HS256"], False)])
def test_only_algorithms_of_the_discovery_list_are_accepted(rsps, allowed, accepted):
    key = RSAKey.generate_key(2048, parameters={"kid": "key-without-alg"})
    discovery = {**mocks.GOOGLE.discovery(), "id_token_signing_alg_values_supported": allowed}
    rsps.get(mocks.GOOGLE_DISCOVERY_URL, json=discovery)
    rsps.get(mocks.GOOGLE.jwks_uri, json=mocks.GOOGLE.jwks(key))
    claims = mocks.GOOGLE.claims(nonce=NONCE)
    token = jwt.encode({"alg": "RS512", "kid": key.kid}, claims, key, algorithms=["RS512"])

    if accepted:
        assert google_identity(rsps, id_token=token).subject
    else:
        with pytest.raises(IdTokenInvalid):
            google_identity(rsps, id_token=token)


def test_discovery_listing_only_symmetric_or_none_algorithms_accepts_nothing(rsps):
    rsps.get(
        mocks.GOOGLE_DISCOVERY_URL,
        json={**mocks.GOOGLE.discovery(), "id_token_signing_alg_values_supported": ["none", "HS256"]},
    )
    rsps.get(mocks.GOOGLE.jwks_uri, json=mocks.GOOGLE.jwks())

    with pytest.raises(IdTokenInvalid):
        google_identity(rsps)


def jwks_fetches(rsps) -> int:
    return sum(call.request.url == mocks.GOOGLE.jwks_uri for call in rsps.calls)


def test_unknown_kid_refetches_the_jwks_once(rsps):
    """Key rotation: the cached JWKS lacks the new key; one refetch finds it."""
    rotated = mocks.another_key("key-2")
    mocks.GOOGLE.mock_metadata(rsps)
    assert google_identity(rsps).subject  # caches the old key set
    rsps.replace("GET", mocks.GOOGLE.jwks_uri, json=mocks.GOOGLE.jwks(mocks.GOOGLE.key, rotated))

    identity = google_identity(rsps, id_token=mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE), key=rotated))

    assert identity.subject
    assert jwks_fetches(rsps) == 2
    # The refetched set is cached: the next login with the new key asks no one.
    google_identity(rsps, id_token=mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE), key=rotated))
    assert jwks_fetches(rsps) == 2


def test_unknown_kid_after_the_refetch_is_refused(rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    token = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE), key=mocks.another_key("key-unknown"))

    with pytest.raises(IdTokenInvalid):
        google_identity(rsps, id_token=token)
    assert jwks_fetches(rsps) == 2


def test_discovery_and_jwks_are_cached_by_url(rsps, settings):
    discovery = rsps.get(mocks.GOOGLE_DISCOVERY_URL, json=mocks.GOOGLE.discovery())
    jwks = rsps.get(mocks.GOOGLE.jwks_uri, json=mocks.GOOGLE.jwks())
    google_identity(rsps)
    google_identity(rsps)
    assert (discovery.call_count, jwks.call_count) == (1, 1)

    other_url = "https://accounts.google.com/other/.well-known/openid-configuration"
    settings.SOCIAL_GOOGLE_DISCOVERY_URL = other_url
    other = rsps.get(other_url, json=mocks.GOOGLE.discovery())
    google_identity(rsps)
    assert other.call_count == 1


@pytest.mark.parametrize("field", ["token_endpoint", "jwks_uri", "authorization_endpoint"])
def test_discovery_naming_plain_http_endpoints_off_loopback_is_refused(rsps, field):
    rsps.get(mocks.GOOGLE_DISCOVERY_URL, json={**mocks.GOOGLE.discovery(), field: "http://accounts.google.com/x"})

    with pytest.raises(ProviderUnavailable):
        provider_get("google").authorization_url(
            redirect_uri=mocks.REDIRECT_URI, state="s", code_verifier="v" * 43, nonce=NONCE
        )


def test_loopback_discovery_over_http_works(rsps, settings):
    """A local identity provider (the dev one, a test server) on 127.0.0.1 over plain http."""
    local = mocks.OIDCProvider(
        issuer="http://127.0.0.1:8765/dev-idp",
        discovery_url="http://127.0.0.1:8765/dev-idp/.well-known/openid-configuration",
        client_id="dev-client",
    )
    settings.SOCIAL_OIDC_PROVIDERS = {
        "dev": {"client_id": "dev-client", "client_secret": "s", "discovery_url": local.discovery_url}
    }
    local.mock_metadata(rsps)

    identity = provider_get("dev").identity(local.token(local.id_token(local.claims(nonce=NONCE))), nonce=NONCE)

    assert identity.email == "ada@gmail.example"


def test_jwks_that_is_not_a_key_set_is_provider_unavailable(rsps):
    rsps.get(mocks.GOOGLE_DISCOVERY_URL, json=mocks.GOOGLE.discovery())
    rsps.get(mocks.GOOGLE.jwks_uri, json={"keys": [{"kty": "RSA"}]})

    with pytest.raises(ProviderUnavailable):
        google_identity(rsps)


def acme_identity_without_email_in_the_id_token(rsps):
    claims = mocks.ACME.claims(nonce=NONCE)
    del claims["email"], claims["email_verified"]
    return provider_get("acme").identity(mocks.ACME.token(mocks.ACME.id_token(claims)), nonce=NONCE)


def test_email_missing_from_the_id_token_comes_from_userinfo(rsps):
    mocks.ACME.mock_metadata(rsps)
    userinfo = rsps.get(mocks.ACME.userinfo_endpoint, json=mocks.ACME.userinfo())

    identity = acme_identity_without_email_in_the_id_token(rsps)

    assert (identity.email, identity.email_verified) == ("ada@acme.example", True)
    assert identity.subject == "110169484474386276334"
    assert userinfo.calls[0].request.headers["Authorization"] == "Bearer ya29.a0AfB_byC-provider-access-token"


def test_userinfo_about_another_subject_is_not_used(rsps):
    mocks.ACME.mock_metadata(rsps)
    rsps.get(mocks.ACME.userinfo_endpoint, json=mocks.ACME.userinfo(sub="someone-else"))

    with pytest.raises(ProviderUnavailable):
        acme_identity_without_email_in_the_id_token(rsps)


def test_userinfo_is_not_asked_when_the_id_token_has_the_email(rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    google_identity(rsps)

    assert all(call.request.url != mocks.GOOGLE.userinfo_endpoint for call in rsps.calls)


# --- Kakao's user ---------------------------------------------------------------------------


def fetched_kakao_identity(rsps, user: dict):
    rsps.get(mocks.KAKAO_USERINFO_URL, json=user)
    return provider_get("kakao").identity(mocks.kakao_token(), nonce=None)


def test_kakao_identity(rsps):
    identity = fetched_kakao_identity(rsps, mocks.kakao_user())

    assert identity.subject == "1234567890"
    assert (identity.email, identity.email_verified) == ("minji@kakao.example", True)
    assert identity.display_name == "민지"
    assert identity.avatar_url == "https://k.kakaocdn.net/dn/abc/img_640x640.jpg"
    assert identity.profile["id"] == 1234567890


@pytest.mark.parametrize("flag", ["is_email_valid", "is_email_verified"])
def test_kakao_email_is_used_only_when_valid_and_verified(rsps, flag):
    identity = fetched_kakao_identity(rsps, mocks.kakao_user(**{flag: False}))

    assert (identity.email, identity.email_verified) == (None, False)


def test_kakao_user_without_email(rsps):
    identity = fetched_kakao_identity(rsps, mocks.kakao_user(has_email=False))

    assert (identity.email, identity.email_verified) == (None, False)
    assert identity.subject == "1234567890"


def test_kakao_default_image_is_no_avatar(rsps):
    assert fetched_kakao_identity(rsps, mocks.kakao_user(is_default_image=True)).avatar_url == ""


def test_kakao_user_without_id_is_provider_unavailable(rsps):
    user = mocks.kakao_user()
    del user["id"]

    with pytest.raises(ProviderUnavailable):
        fetched_kakao_identity(rsps, user)


# --- mapping, without HTTP ------------------------------------------------------------------


def test_kakao_mapping_is_a_pure_function_of_the_user_body():
    identity = kakao_identity(mocks.kakao_user(is_email_verified=False))

    assert identity.subject == "1234567890"
    assert (identity.email, identity.email_verified) == (None, False)
    assert identity.display_name == "민지"


def test_oidc_mapping_prefers_name_then_given_name():
    claims = mocks.GOOGLE.claims(nonce=NONCE)
    del claims["name"]

    identity = oidc_identity(claims)

    assert identity.display_name == "Ada"
    assert (identity.email, identity.email_verified) == ("ada@gmail.example", True)


def test_claim_rules_accept_any_allowed_client_and_refuse_others():
    claims = mocks.GOOGLE.claims(nonce=NONCE, aud="ios-client", azp="ios-client")
    rules = {"issuers": [mocks.GOOGLE.issuer], "nonces": [NONCE]}

    id_token_claims_check(claims, client_ids=["web-client", "ios-client"], **rules)
    with pytest.raises(IdTokenInvalid):
        id_token_claims_check(claims, client_ids=["web-client"], **rules)


# --- fetching -------------------------------------------------------------------------------


def test_a_callback_reads_the_discovery_document_once(client, rsps, db):
    """Exchange, id_token, keys and UserInfo share one read of the document per request."""
    mocks.ACME.mock_metadata(rsps)
    rsps.get(mocks.ACME.userinfo_endpoint, json=mocks.ACME.userinfo())
    params = mocks.authorize(client, "acme")
    claims = mocks.ACME.claims(nonce=params["nonce"])
    del claims["email"], claims["email_verified"]
    rsps.post(mocks.ACME.token_endpoint, json=mocks.ACME.token(mocks.ACME.id_token(claims)))
    discovery_key = "social:json:" + hashlib.sha256(mocks.ACME_DISCOVERY_URL.encode()).hexdigest()

    with patch.object(cache, "get", wraps=cache.get) as cache_get:
        response = mocks.callback(client, "acme", state=params["state"])

    assert response.status_code == 200, response.json()
    assert [call.args[0] for call in cache_get.call_args_list].count(discovery_key) == 1


# --- provider answers of the wrong shape ------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"kakao_account": ["not", "an", "object"]},
        {"kakao_account": {**mocks.kakao_user()["kakao_account"], "email": ["a@b.example"]}},
        {"kakao_account": {**mocks.kakao_user()["kakao_account"], "email": "x" * 250 + "@k.example"}},
        {"kakao_account": {**mocks.kakao_user()["kakao_account"], "email": "not an address"}},
        {"kakao_account": {**mocks.kakao_user()["kakao_account"], "profile": "민지"}},
        {"id": {"nested": 1}},
    ],
    ids=["account-list", "email-list", "email-too-long", "email-invalid", "profile-string", "id-object"],
)
def test_kakao_answer_of_the_wrong_shape_is_provider_unavailable(changes):
    with pytest.raises(ProviderUnavailable):
        kakao_identity({**mocks.kakao_user(), **changes})


@pytest.mark.parametrize(
    "changes",
    [{"email": ["ada@gmail.example"]}, {"email": "a" * 250 + "@x.example"}, {"name": {"first": "Ada"}}],
    ids=["email-list", "email-too-long", "name-object"],
)
def test_oidc_claims_of_the_wrong_shape_are_provider_unavailable(changes):
    with pytest.raises(ProviderUnavailable):
        oidc_identity({**mocks.GOOGLE.claims(nonce=NONCE), **changes})


@pytest.mark.parametrize(
    "url", ["http://k.kakaocdn.net/img.jpg", "javascript:alert(1)", "//cdn.example/img.jpg", "https://"]
)
def test_an_avatar_that_is_not_https_is_dropped(url):
    assert kakao_identity(mocks.kakao_user(image_url=url)).avatar_url == ""
    assert oidc_identity({**mocks.GOOGLE.claims(nonce=NONCE), "picture": url}).avatar_url == ""


def test_kakao_user_is_asked_for_https_image_urls(rsps):
    me = rsps.get(mocks.KAKAO_USERINFO_URL, json=mocks.kakao_user())

    provider_get("kakao").identity(mocks.kakao_token(), nonce=None)

    assert me.calls[0].request.params == {"secure_resource": "true"}


def test_google_email_is_authoritative_only_for_gmail_or_workspace():
    def authoritative(**changes) -> bool:
        return google_mapping({**mocks.GOOGLE.claims(nonce=NONCE), **changes}).email_authoritative

    assert authoritative(email="ada@gmail.com")
    assert authoritative(email="ada@example.com", hd="example.com")
    assert not authoritative(email="ada@example.com")


@pytest.mark.parametrize(
    ("provider", "trusted"), [("google", True), ("kakao", True), ("acme", False)], ids=["google", "kakao", "acme"]
)
def test_providers_vouch_for_email_as_configured(rsps, provider, trusted):
    identity = Identity(
        subject="s", email="ada@example.com", email_verified=True, display_name="", avatar_url="", profile={}
    )

    assert provider_get(provider).vouched(identity).email_trusted is trusted


# --- discovery and keys: validated before they are cached ---------------------------------------


def authorization_url() -> str:
    return provider_get("google").authorization_url(
        redirect_uri=mocks.REDIRECT_URI, state="s", code_verifier="v" * 43, nonce=NONCE
    )


def test_a_bad_discovery_document_is_not_cached_and_is_refetched_after_a_pause(rsps):
    bad = rsps.get(mocks.GOOGLE_DISCOVERY_URL, json={**mocks.GOOGLE.discovery(), "issuer": ["not", "a", "string"]})

    with time_machine.travel("2026-01-01 00:00:00", tick=False) as clock:
        with pytest.raises(ProviderUnavailable):
            authorization_url()
        # Moments later the bad answer is neither served nor asked for again.
        with pytest.raises(ProviderUnavailable):
            authorization_url()
        assert bad.call_count == 1

        rsps.replace("GET", mocks.GOOGLE_DISCOVERY_URL, json=mocks.GOOGLE.discovery())
        clock.shift(METADATA_RETRY_AFTER + 1)
        assert authorization_url().startswith(mocks.GOOGLE.authorization_endpoint)


def test_a_jwks_without_keys_is_not_cached(rsps):
    rsps.get(mocks.GOOGLE_DISCOVERY_URL, json=mocks.GOOGLE.discovery())
    jwks = rsps.get(mocks.GOOGLE.jwks_uri, json={"keys": []})

    with time_machine.travel("2026-01-01 00:00:00", tick=False) as clock:
        with pytest.raises(ProviderUnavailable):
            google_identity(rsps)
        rsps.replace("GET", mocks.GOOGLE.jwks_uri, json=mocks.GOOGLE.jwks())
        clock.shift(METADATA_RETRY_AFTER + 1)

        assert google_identity(rsps).subject
    assert jwks.call_count == 1


def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    google_identity(rsps)  # caches the key set

    for key_id in ("made-up-1", "made-up-2", "made-up-3"):
        token = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=NONCE), key=mocks.another_key(key_id))
        with pytest.raises(IdTokenInvalid):
            google_identity(rsps, id_token=token)

    assert jwks_fetches(rsps) == 2
