"""The contract every registered provider keeps, each driven with its own documented answers.

In the spirit of django-allauth's OAuth2TestsMixin: one suite, run for each class in
social.providers.registry.PROVIDERS with the ProviderContract its folder's fixtures.py
declares (a provider without one fails here). Through the real API, providers mocked with
`responses`: the authorization URL, the code exchange, the mapping of the provider's answer,
how refusals and outages map to problems, and which addresses become the user's.
"""

import importlib
import re
from pathlib import Path

import pytest
import requests
from ninja.testing import TestClient

from core.models import User
from social.models import SocialAccount
from social.providers.fixtures import REDIRECT_URI, ProviderContract
from social.providers.registry import PROVIDERS
from social.selectors import provider_get
from tests import social_mocks as mocks

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "providers.md"


def _folder(cls: type) -> str:
    """The package of a provider class: social.providers.<folder>.provider."""
    return cls.__module__.split(".")[2]


def _contract_of(cls: type) -> ProviderContract:
    fixtures = importlib.import_module(f"social.providers.{_folder(cls)}.fixtures")
    [contract] = [value for value in vars(fixtures).values() if isinstance(value, ProviderContract)]
    return contract


@pytest.fixture(params=PROVIDERS, ids=_folder)
def contract(request, settings) -> ProviderContract:
    """This provider alone configured, as its contract says."""
    settings.SOCIAL_REDIRECT_URIS = [REDIRECT_URI]
    settings.SOCIAL_OIDC_PROVIDERS = {}
    settings.SOCIAL_LINK_BY_VERIFIED_EMAIL = True
    settings.SOCIAL_REQUIRE_EMAIL = False
    settings.SOCIAL_BIND_TO_BROWSER = True
    contract = _contract_of(request.param)
    for name, value in contract.settings.items():
        setattr(settings, name, value)
    assert type(provider_get(contract.name)) is request.param
    return contract


def _authorize(client: TestClient, rsps, contract: ProviderContract) -> dict[str, str]:
    contract.mock_metadata(rsps)
    response = client.post(f"/auth/social/{contract.name}/authorize", json={"redirect_uri": REDIRECT_URI})
    assert response.status_code == 200, response.json()
    url = response.json()["authorization_url"]
    assert url.split("?")[0] == contract.authorization_endpoint
    return mocks.query_of(url)


def _sign_in(client: TestClient, rsps, contract: ProviderContract, *, email_verified: bool = True):
    params = _authorize(client, rsps, contract)
    contract.mock_sign_in(rsps, params.get("nonce"), email_verified)
    return mocks.callback(client, contract.name, state=params["state"])


def test_the_authorization_url_asks_for_a_code_with_pkce_state_and_the_configured_client(client, rsps, contract):
    params = _authorize(client, rsps, contract)

    assert params.pop("state")
    assert len(params.pop("code_challenge")) == 43  # base64url of a SHA-256: S256
    nonce = params.pop("nonce", None)
    assert (nonce is not None) is provider_get(contract.name).uses_nonce
    expected = {
        "response_type": "code",
        "client_id": contract.client_id,
        "redirect_uri": contract.redirect_uri,
        "code_challenge_method": "S256",
        **({"scope": " ".join(contract.scopes)} if contract.scopes else {}),
        **contract.extra_params,
    }
    assert params == expected


def test_the_code_is_exchanged_on_the_backend_and_the_answer_mapped(client, rsps, contract):
    response = _sign_in(client, rsps, contract)

    assert response.status_code == 200, response.json()
    [exchange] = [call for call in rsps.calls if call.request.url.split("?")[0] == contract.token_endpoint]
    form = mocks.form_of(exchange)
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "code-from-the-redirect"
    assert form["redirect_uri"] == contract.redirect_uri
    assert 43 <= len(form["code_verifier"]) <= 128
    account = SocialAccount.objects.get(provider=contract.name)
    assert account.subject == contract.identity["subject"]
    assert account.email == contract.identity["email"]
    assert response.json()["user"]["display_name"] == contract.identity["display_name"]
    assert response.json()["created"] is True


def test_a_refused_code_is_code_invalid_with_the_providers_own_error(client, rsps, contract):
    params = _authorize(client, rsps, contract)
    provider_error = contract.mock_code_refused(rsps)

    response = mocks.callback(client, contract.name, state=params["state"])

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["provider_error"]) == ("code_invalid", provider_error)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        ({"status": 503, "body": "<html>Service Unavailable</html>"}, 502, "provider_unavailable"),
        ({"body": requests.ConnectionError("refused")}, 502, "provider_unavailable"),
        ({"body": requests.ReadTimeout("slow")}, 504, "provider_timeout"),
    ],
)
def test_a_token_endpoint_down_or_slow_is_a_502_or_504(client, rsps, contract, answer, status, code):
    params = _authorize(client, rsps, contract)
    rsps.post(contract.token_endpoint, **answer)

    response = mocks.callback(client, contract.name, state=params["state"])

    assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_verified_address_is_the_users_only_from_a_provider_trusted_with_it(client, rsps, contract):
    response = _sign_in(client, rsps, contract)

    user = User.objects.get(pk=response.json()["user"]["id"])
    if contract.trusts_email:
        assert (user.email, user.email_verified) == (contract.identity["email"], True)
    else:
        assert (user.email, user.email_verified) == (None, False)


def test_an_address_the_provider_does_not_call_verified_never_becomes_the_users(client, rsps, contract):
    User.objects.create_user(email=contract.identity["email"], email_verified=True, display_name="Owner")

    response = _sign_in(client, rsps, contract, email_verified=False)

    assert response.status_code == 200, response.json()
    assert response.json()["created"] is True  # not linked to the owner of the address
    assert User.objects.get(pk=response.json()["user"]["id"]).email is None


def test_every_registered_provider_is_listed_in_the_docs_and_no_other():
    """docs/providers.md's table of built-in providers names each registry entry's folder, in order."""
    table = re.findall(r"^\| `social/providers/([a-z0-9_]+)/` \|", DOCS.read_text(), flags=re.MULTILINE)

    assert table == [_folder(cls) for cls in PROVIDERS]
