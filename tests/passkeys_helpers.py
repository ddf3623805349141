"""What the WebAuthn API tests share: the relying party they run as, and the ceremonies done
through the API with the software authenticator (tests/webauthn_authenticator.py)."""

from typing import Any

import pytest

from tests.conftest import bearer
from tests.webauthn_authenticator import SoftAuthenticator

RP_ID = "example.test"
ORIGIN = "https://app.example.test"


@pytest.fixture
def webauthn_on(settings):
    settings.AUTH_WEBAUTHN = True
    settings.WEBAUTHN_RP_ID = RP_ID
    settings.WEBAUTHN_RP_NAME = "Example"
    settings.WEBAUTHN_ORIGINS = [ORIGIN, "https://other.example.test"]
    settings.WEBAUTHN_CHALLENGE_SECONDS = 300


def authenticator(**kwargs: Any) -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID, **kwargs)


def register_options(client, access: str, *, passkey: bool = True) -> dict[str, Any]:
    response = client.post("/users/me/webauthn/register/options", json={"passkey": passkey}, headers=bearer(access))
    assert response.status_code == 200, response.json()
    return response.json()


def register(client, access: str, device: SoftAuthenticator, *, passkey: bool = True, name: str = "Laptop", **bend):
    """Registers `device` for the bearer's user; `bend` goes to the authenticator (origin=, user_verified=...)."""
    started = register_options(client, access, passkey=passkey)
    return client.post(
        "/users/me/webauthn/register",
        json={
            "challenge_id": started["challenge_id"],
            "credential": device.create(started["options"], **bend),
            "name": name,
        },
        headers=bearer(access),
    )


def registered(client, access: str, **kwargs: Any) -> SoftAuthenticator:
    device = authenticator(**kwargs)
    response = register(client, access, device)
    assert response.status_code == 201, response.json()
    return device


def sign_in_options(client) -> dict[str, Any]:
    response = client.post("/auth/webauthn/options")
    assert response.status_code == 200, response.json()
    return response.json()


def sign_in(client, device: SoftAuthenticator, **bend):
    started = sign_in_options(client)
    return client.post(
        "/auth/webauthn",
        json={"challenge_id": started["challenge_id"], "credential": device.get(started["options"], **bend)},
    )


def signed_in(client, device: SoftAuthenticator) -> str:
    """A passkey sign-in's access token: aal2, what a user with a factor needs to add or remove one."""
    response = sign_in(client, device)
    assert response.status_code == 200, response.json()
    return response.json()["access"]
