"""The providers as the outside world, gathered from each one's fixtures (social/providers/<name>/fixtures.py),
and the frontend's side of a sign-in.

Bodies are shaped like the real ones, as each provider documents them. Tests may use joserfc
directly: it stands for the provider signing its id_tokens.
"""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from social.providers.apple.fixtures import *  # noqa: F403
from social.providers.fixtures import REDIRECT_URI, OIDCProvider, another_key  # noqa: F401
from social.providers.google.fixtures import *  # noqa: F403
from social.providers.kakao.fixtures import *  # noqa: F403
from social.providers.kakao.fixtures import mock_kakao
from social.providers.naver.fixtures import *  # noqa: F403
from social.providers.openid_connect.fixtures import *  # noqa: F403

# --- the frontend's side -------------------------------------------------------------------


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def form_of(call) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(call.request.body).items()}


def authorize(client, provider: str, *, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """Begins a login like the frontend does; the authorization URL's query (state, nonce...)."""
    response = client.post(f"/auth/social/{provider}/authorize", json={"redirect_uri": redirect_uri})
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == query_of(response.json()["authorization_url"])["state"]
    return query_of(response.json()["authorization_url"])


def callback(client, provider: str, *, state: str, code: str = "code-from-the-redirect", **headers: str):
    return client.post(f"/auth/social/{provider}/callback", json={"code": code, "state": state}, headers=headers)


def login_kakao(client, rsps: responses.RequestsMock, *, user: dict | None = None):
    mock_kakao(rsps, user=user)
    return callback(client, "kakao", state=authorize(client, "kakao")["state"])


def login_oidc(client, rsps: responses.RequestsMock, provider: OIDCProvider, name: str, **claim_changes: Any):
    """A full login whose id_token carries the nonce of the authorization URL, as a provider's would."""
    provider.mock_metadata(rsps)
    params = authorize(client, name)
    claims = provider.claims(**{"nonce": params["nonce"], **claim_changes})
    rsps.post(provider.token_endpoint, json=provider.token(provider.id_token(claims)))
    return callback(client, name, state=params["state"])
