"""AUTH_MFA_REQUIRED: a user it covers without a second factor enrols TOTP before getting tokens."""

import pytest

from core.models import User
from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tests.forge import claims_of
from tests.mfa_helpers import code_now, verify

pytestmark = pytest.mark.django_db


def enrolment_token(response) -> str:
    body = response.json()
    assert response.status_code == 403, body
    assert (body["code"], body["methods"]) == ("mfa_enrollment_required", ["totp"])
    assert "access" not in body
    return body["mfa_token"]


def test_off_lets_everyone_in(client, settings):
    settings.AUTH_MFA_REQUIRED = "off"
    signed_up(client)
    assert sign_in(client).status_code == 200


def test_all_makes_a_user_enrol_at_sign_in_then_answers_codes_and_the_pair(client, settings):
    signed_up(client)
    settings.AUTH_MFA_REQUIRED = "all"
    mfa_token = enrolment_token(sign_in(client))
    # The enrolment token answers no second-factor prompt.
    assert_problem(verify(client, mfa_token, "000000"), 401, "mfa_token_invalid")

    secret = client.post("/auth/mfa/totp", json={"mfa_token": mfa_token}).json()["secret"]
    wrong = client.post("/auth/mfa/totp/confirm", json={"mfa_token": mfa_token, "code": "000000"})
    assert_problem(wrong, 403, "mfa_code_invalid")
    done = client.post("/auth/mfa/totp/confirm", json={"mfa_token": mfa_token, "code": code_now(secret)})
    assert done.status_code == 200, done.json()
    assert len(done.json()["recovery_codes"]) == 10
    assert claims_of(done.json()["access"])["acr"] == "aal2"
    # Spent; and from now on the sign-in asks for the factor.
    again = client.post("/auth/mfa/totp/confirm", json={"mfa_token": mfa_token, "code": code_now(secret)})
    assert_problem(again, 401, "mfa_token_invalid")
    assert sign_in(client).json()["code"] == "mfa_required"


def test_where_a_factor_is_required_the_last_one_cannot_be_removed(client, settings):
    """An account enrolled under AUTH_MFA_REQUIRED would otherwise drop back to one factor, and keep
    refreshing at aal2 with none (found by the attacker)."""
    signed_up(client)
    settings.AUTH_MFA_REQUIRED = "all"
    mfa_token = enrolment_token(sign_in(client))
    secret = client.post("/auth/mfa/totp", json={"mfa_token": mfa_token}).json()["secret"]
    access = client.post("/auth/mfa/totp/confirm", json={"mfa_token": mfa_token, "code": code_now(secret)}).json()[
        "access"
    ]

    removed = client.delete("/users/me/mfa/totp", headers=bearer(access))

    assert_problem(removed, 409, "mfa_factor_required")
    assert client.get("/users/me/mfa", headers=bearer(access)).json()["totp"] is True
    settings.AUTH_MFA_REQUIRED = "off"  # with no policy, the same removal goes through
    assert client.delete("/users/me/mfa/totp", headers=bearer(access)).status_code == 204


def test_staff_covers_staff_only(client, settings):
    settings.AUTH_MFA_REQUIRED = "staff"
    signed_up(client)
    signed_up(client, "admin@example.com")
    User.objects.filter(email="admin@example.com").update(is_staff=True)
    assert sign_in(client).status_code == 200
    enrolment_token(sign_in(client, "admin@example.com"))


def test_a_wrong_setting_fails_the_check(settings):
    from mfa.checks import mfa_settings_check

    settings.AUTH_MFA_REQUIRED = "some"
    assert [error.id for error in mfa_settings_check(None)] == ["mfa.E001"]
