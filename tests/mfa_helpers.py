"""Helpers for the second-factor tests: an authenticator app, and a user who has set one up."""

import time

import pyotp

from tests.api.test_accounts_api import sign_in
from tests.conftest import bearer

STEP = 30


def code_at(secret: str, moment: float) -> str:
    """The code the app shows at `moment` (epoch seconds)."""
    return pyotp.TOTP(secret).at(moment)


def code_now(secret: str) -> str:
    return code_at(secret, time.time())


def enrol(client, access: str) -> tuple[str, list[str]]:
    """Sets up TOTP with the bearer's session: (the secret, the recovery codes)."""
    begun = client.post("/users/me/mfa/totp", headers=bearer(access))
    assert begun.status_code == 200, begun.json()
    secret = begun.json()["secret"]
    confirmed = client.post("/users/me/mfa/totp/confirm", json={"code": code_now(secret)}, headers=bearer(access))
    assert confirmed.status_code == 200, confirmed.json()
    return secret, confirmed.json()["recovery_codes"]


def mfa_token_of(response) -> str:
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "mfa_required"
    return response.json()["mfa_token"]


def verify(client, mfa_token: str, code: str, method: str = "totp"):
    return client.post("/auth/mfa/verify", json={"mfa_token": mfa_token, "method": method, "code": code})


def sign_in_with_recovery_code(client, code: str, email: str = "grace@example.com"):
    """A full password + recovery-code sign-in: the second step's response."""
    return verify(client, mfa_token_of(sign_in(client, email)), code, method="recovery_code")
