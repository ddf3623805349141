"""WebAuthn with the second factor: a passkey's sign-in at aal2 through the gate, a security key as the
second step of a password sign-in, reauthentication with an assertion, the step-up around adding and
removing credentials, recovery codes beside them, the admin's reset, and the notices."""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.models import User
from mfa.models import MfaChallenge, RecoveryCode, TotpDevice
from passkeys.models import WebAuthnCredential
from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tests.forge import claims_of
from tests.mfa_helpers import code_now, enrol, mfa_token_of
from tests.passkeys_helpers import authenticator, register, registered, signed_in, webauthn_on  # noqa: F401
from tests.passkeys_helpers import sign_in as passkey_sign_in
from tests.webauthn_authenticator import SoftAuthenticator, b64url
from tokens.models import Session, SessionEndReason

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webauthn_on")]

FACTOR_ADDED = "A second factor was added to your account"
FACTOR_REMOVED = "A second factor was removed from your account"
PASSKEY_ADDED = "A passkey was added to your account"
PASSKEY_REMOVED = "A passkey was removed from your account"


def mfa_options(client, mfa_token: str):
    return client.post("/auth/mfa/webauthn/options", json={"mfa_token": mfa_token})


def verify_with(client, mfa_token: str, device: SoftAuthenticator, **bend):
    started = mfa_options(client, mfa_token)
    assert started.status_code == 200, started.json()
    body = started.json()
    return client.post(
        "/auth/mfa/verify",
        json={
            "mfa_token": mfa_token,
            "method": "webauthn",
            "challenge_id": body["challenge_id"],
            "credential": device.get(body["options"], **bend),
        },
    )


def reauthenticate_with(client, access: str, device: SoftAuthenticator):
    started = client.post("/auth/reauthenticate/webauthn/options", headers=bearer(access))
    assert started.status_code == 200, started.json()
    body = started.json()
    return client.post(
        "/auth/reauthenticate",
        json={"method": "webauthn", "challenge_id": body["challenge_id"], "credential": device.get(body["options"])},
        headers=bearer(access),
    )


def delete_credential(client, access: str):
    return client.delete(f"/users/me/webauthn/{WebAuthnCredential.objects.get().pk}", headers=bearer(access))


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


# --- sign-in ---------------------------------------------------------------------------------------


def test_a_passkey_signs_a_user_with_totp_in_at_aal2_without_a_second_step(client):
    access = signed_up(client)["access"]
    device = registered(client, access)  # the first factor added: no step-up yet
    enrol(client, signed_in(client, device))  # TOTP beside it needs the passkey's aal2

    response = passkey_sign_in(client, device)

    assert response.status_code == 200, response.json()
    claims = claims_of(response.json()["access"])
    assert claims["acr"] == "aal2"
    assert claims["amr"] == ["hwk", "user", "mfa"]


def test_a_password_sign_in_of_a_user_with_only_a_key_is_finished_with_it(client):
    access = signed_up(client)["access"]
    device = authenticator()
    assert register(client, access, device, passkey=False, user_verified=False).status_code == 201

    gated = sign_in(client)
    mfa_token = mfa_token_of(gated)
    assert gated.json()["methods"] == ["webauthn"]
    options = mfa_options(client, mfa_token).json()["options"]
    assert [item["id"] for item in options["allowCredentials"]] == [b64url(device.credential_id)]

    response = verify_with(client, mfa_token, device, user_verified=False)

    assert response.status_code == 200, response.json()
    claims = claims_of(response.json()["access"])
    assert claims["acr"] == "aal2"
    assert claims["amr"] == ["pwd", "hwk", "mfa"]
    assert MfaChallenge.objects.get().used_at is not None


def test_a_user_without_a_credential_gets_no_webauthn_options(client):
    enrol(client, signed_up(client)["access"])
    assert_problem(mfa_options(client, mfa_token_of(sign_in(client))), 400, "mfa_method_unavailable")


@pytest.mark.parametrize(
    ("foreign", "status", "code"),
    [
        ("another_users_key", 401, "webauthn_credential_unknown"),
        ("sign_in_challenge", 400, "webauthn_challenge_invalid"),
    ],
)
def test_a_foreign_assertion_at_the_second_step_counts_as_a_failure(client, foreign, status, code, settings, caplog):
    settings.MFA_TOKEN_MAX_FAILURES = 2
    access = signed_up(client)["access"]
    device = registered(client, access)
    other = registered(client, signed_up(client, "mallory@example.com")["access"])
    mfa_token = mfa_token_of(sign_in(client))

    with caplog.at_level(logging.INFO, logger="auth.events"):
        if foreign == "another_users_key":
            response = verify_with(client, mfa_token, other)
        else:
            started = client.post("/auth/webauthn/options").json()  # nobody's challenge
            body = {"challenge_id": started["challenge_id"], "credential": device.get(started["options"])}
            response = client.post("/auth/mfa/verify", json={"mfa_token": mfa_token, "method": "webauthn", **body})

    assert_problem(response, status, code)
    assert MfaChallenge.objects.get(user__email="grace@example.com").failures == 1
    events = [json.loads(record.getMessage()) for record in caplog.records if record.name == "auth.events"]
    assert {"event": "mfa_verify", "outcome": code, "method": "webauthn"}.items() <= events[-1].items()
    # The second failure (MFA_TOKEN_MAX_FAILURES) spends the mfa_token.
    assert_problem(verify_with(client, mfa_token, other), 401, "webauthn_credential_unknown")
    assert_problem(mfa_options(client, mfa_token), 401, "mfa_token_invalid")


def test_a_webauthn_verify_without_the_assertion_is_refused(client):
    registered(client, signed_up(client)["access"])
    response = client.post("/auth/mfa/verify", json={"mfa_token": mfa_token_of(sign_in(client)), "method": "webauthn"})
    assert_problem(response, 400, "mfa_method_unavailable")


def test_webauthn_is_no_method_while_turned_off(client, settings):
    registered(client, signed_up(client)["access"])
    settings.AUTH_WEBAUTHN = False
    assert sign_in(client).status_code == 200  # nothing could assert the key: no second step to ask for


# --- step-up and reauthentication ------------------------------------------------------------------


def test_removing_a_credential_needs_a_reauthentication_with_it(client):
    aal1 = signed_up(client)["access"]
    device = registered(client, aal1)

    refused = delete_credential(client, aal1)
    assert_problem(refused, 403, "reauthentication_required")
    assert refused.json()["methods"] == ["webauthn"]

    reauthenticated = reauthenticate_with(client, aal1, device)
    assert reauthenticated.status_code == 200, reauthenticated.json()
    claims = claims_of(reauthenticated.json()["access"])
    assert (claims["acr"], claims["amr"]) == ("aal2", ["pwd", "hwk", "user", "mfa"])
    assert claims["sid"] == claims_of(aal1)["sid"]
    assert delete_credential(client, reauthenticated.json()["access"]).status_code == 204
    assert not WebAuthnCredential.objects.exists()


def test_an_old_aal2_sign_in_cannot_remove_a_credential(client, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        device = registered(client, signed_up(client)["access"])
        access = signed_in(client, device)
        clock.shift(timedelta(minutes=settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES, seconds=1))
        assert_problem(delete_credential(client, access), 403, "reauthentication_required")
        assert WebAuthnCredential.objects.exists()


def test_adding_a_second_credential_needs_aal2(client):
    aal1 = signed_up(client)["access"]
    device = registered(client, aal1)

    options = client.post("/users/me/webauthn/register/options", json={"passkey": True}, headers=bearer(aal1))
    assert_problem(options, 403, "reauthentication_required")
    assert_problem(client.post("/users/me/mfa/totp", headers=bearer(aal1)), 403, "reauthentication_required")
    assert register(client, signed_in(client, device), authenticator()).status_code == 201


def test_a_totp_set_up_begun_before_a_key_came_cannot_be_confirmed_by_that_aal1_session(client):
    """The attacker's path: an aal1 session starts TOTP while the user has no factor, the user adds a key,
    and the old session confirms the TOTP (and would get recovery codes) without the key."""
    aal1 = signed_up(client)["access"]
    secret = client.post("/users/me/mfa/totp", headers=bearer(aal1)).json()["secret"]
    registered(client, sign_in(client).json()["access"])  # the owner's fresh session adds a key

    confirm = client.post("/users/me/mfa/totp/confirm", json={"code": code_now(secret)}, headers=bearer(aal1))

    assert_problem(confirm, 403, "reauthentication_required")
    assert not TotpDevice.objects.filter(confirmed_at__isnull=False).exists()
    assert not RecoveryCode.objects.exists()


def test_a_registration_begun_before_a_factor_came_cannot_be_finished_by_that_aal1_session(client):
    aal1 = signed_up(client)["access"]
    started = client.post("/users/me/webauthn/register/options", json={"passkey": False}, headers=bearer(aal1)).json()
    registered(client, sign_in(client).json()["access"])  # the owner's fresh session adds a key

    late = client.post(
        "/users/me/webauthn/register",
        json={"challenge_id": started["challenge_id"], "credential": authenticator().create(started["options"])},
        headers=bearer(aal1),
    )

    assert_problem(late, 403, "reauthentication_required")
    assert WebAuthnCredential.objects.count() == 1


def test_reauthentication_options_need_a_credential_and_a_bearer(client):
    access = signed_up(client)["access"]
    assert_problem(client.post("/auth/reauthenticate/webauthn/options"), 401, "not_authenticated")
    response = client.post("/auth/reauthenticate/webauthn/options", headers=bearer(access))
    assert_problem(response, 400, "mfa_method_unavailable")


# --- factors, recovery codes, the admin ------------------------------------------------------------


def test_the_factors_list_the_credentials(client, django_assert_num_queries):
    access = signed_up(client)["access"]
    registered(client, access)
    credential = WebAuthnCredential.objects.get()

    with django_assert_num_queries(3):  # TOTP, the credentials, the recovery codes left
        status = client.get("/users/me/mfa", headers=bearer(access)).json()

    assert status == {
        "totp": False,
        "webauthn": [
            {
                "id": credential.pk,
                "name": "Laptop",
                "passkey": True,
                "created_at": credential.created_at.isoformat().replace("+00:00", "Z"),
                "last_used_at": None,
            }
        ],
        "recovery_codes_left": 0,
    }


def test_recovery_codes_stay_while_a_factor_remains_and_go_with_the_last(client):
    access = signed_up(client)["access"]
    device = registered(client, access)
    aal2 = signed_in(client, device)
    enrol(client, aal2)

    assert client.delete("/users/me/mfa/totp", headers=bearer(aal2)).status_code == 204
    assert RecoveryCode.objects.count() == 10
    assert sign_in(client).json()["methods"] == ["recovery_code", "webauthn"]

    assert delete_credential(client, aal2).status_code == 204
    assert not RecoveryCode.objects.exists()
    assert sign_in(client).status_code == 200


def test_recovery_codes_for_a_user_with_only_a_key(client):
    device = registered(client, signed_up(client)["access"])
    response = client.post("/users/me/mfa/recovery-codes", headers=bearer(signed_in(client, device)))
    assert response.status_code == 200, response.json()
    assert len(response.json()["recovery_codes"]) == 10


def test_the_admin_reset_deletes_the_credentials(client, django_client):
    access = signed_up(client)["access"]
    device = registered(client, access)
    enrol(client, signed_in(client, device))
    admin = User.objects.create_superuser(email="root@example.com", password="root password long enough")
    django_client.force_login(admin)

    response = django_client.post(
        reverse("admin:passkeys_webauthncredential_changelist"),
        {"action": "reset_factors", "_selected_action": [WebAuthnCredential.objects.get().pk]},
    )

    assert response.status_code == 302
    assert not WebAuthnCredential.objects.exists()
    assert not TotpDevice.objects.exists()
    assert not RecoveryCode.objects.exists()
    assert set(Session.objects.values_list("end_reason", flat=True)) == {SessionEndReason.MFA_RESET}
    assert_problem(passkey_sign_in(client, device), 401, "webauthn_credential_unknown")
    assert FACTOR_REMOVED in subjects()


# --- notices ---------------------------------------------------------------------------------------


def test_each_factor_change_sends_its_notice(client):
    access = signed_up(client)["access"]
    mail.outbox.clear()

    device = registered(client, access)
    assert subjects() == [PASSKEY_ADDED]
    aal2 = signed_in(client, device)
    mail.outbox.clear()

    key = authenticator()
    assert register(client, aal2, key, passkey=False, user_verified=False).status_code == 201
    enrol(client, aal2)
    client.post("/users/me/mfa/recovery-codes", headers=bearer(aal2))  # no notice kind for new codes
    assert subjects() == [FACTOR_ADDED, FACTOR_ADDED]
    mail.outbox.clear()

    assert client.delete("/users/me/mfa/totp", headers=bearer(aal2)).status_code == 204
    for credential in WebAuthnCredential.objects.order_by("pk"):
        assert client.delete(f"/users/me/webauthn/{credential.pk}", headers=bearer(aal2)).status_code == 204
    assert subjects() == [FACTOR_REMOVED, PASSKEY_REMOVED, FACTOR_REMOVED]
