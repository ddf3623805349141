"""Passkey sign-in (POST /api/auth/webauthn) and the assertion seam mfa uses for its second factor
(passkeys.services.assertion_options / assertion_verify), with the software authenticator."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from ninja.testing import TestClient

from config.api import api
from core.models import User
from passkeys import services
from passkeys.models import WebAuthnCredential
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tests.passkeys_helpers import (
    authenticator,
    register,
    register_options,
    registered,
    sign_in,
    sign_in_options,
    signed_in,
    webauthn_on,  # noqa: F401  (the fixture)
)
from tests.webauthn_authenticator import b64url
from tokens.models import Session
from tokens.services import session_start, token_verify

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webauthn_on")]


def test_sign_in_options_are_for_any_discoverable_credential(client):
    started = sign_in_options(client)

    assert started["challenge_id"]
    assert started["options"]["rpId"] == "example.test"
    assert started["options"]["userVerification"] == "required"
    assert started["options"]["allowCredentials"] == []
    assert started["options"]["timeout"] == 300_000


def test_a_passkey_signs_in(client, pair, user, caplog):
    device = registered(client, pair.access)

    with caplog.at_level(logging.INFO, logger="auth.events"):
        response = sign_in(client, device)

    assert response.status_code == 200, response.json()
    claims = token_verify(token=response.json()["access"])
    assert claims["sub"] == str(user.pk)
    assert Session.objects.filter(user=user).count() == 2
    stored = WebAuthnCredential.objects.get()
    assert stored.sign_count == 1
    assert stored.last_used_at is not None
    assert '"event":"sign_in","outcome":"success"' in caplog.text
    assert '"provider":"passkey"' in caplog.text
    user.refresh_from_db()
    assert user.last_login is not None


def test_an_authenticator_without_a_counter_signs_in_again_and_again(client, pair):
    device = registered(client, pair.access, counts=False, backup_eligible=True)

    assert sign_in(client, device).status_code == 200
    assert sign_in(client, device).status_code == 200
    assert WebAuthnCredential.objects.get().sign_count == 0


def test_a_counter_regression_is_refused_and_logged(client, pair, user, caplog):
    device = registered(client, pair.access)
    assert sign_in(client, device, sign_count=5).status_code == 200

    with caplog.at_level(logging.INFO, logger="auth.events"):
        response = sign_in(client, device, sign_count=5)

    assert_problem(response, 401, "webauthn_counter_regression")
    line = next(
        record.getMessage() for record in caplog.records if "webauthn_counter_regression" in record.getMessage()
    )
    assert '"event":"webauthn_assertion"' in line
    assert f'"user_id":{user.pk}' in line
    # The credential's id, its key and the signature stay out of the log.
    assert b64url(device.credential_id) not in caplog.text
    assert WebAuthnCredential.objects.get().sign_count == 5
    assert_problem(sign_in(client, device, sign_count=4), 401, "webauthn_counter_regression")
    assert sign_in(client, device, sign_count=6).status_code == 200


def test_a_counter_that_starts_counting_is_fine_but_never_goes_back_to_zero(client, pair):
    device = registered(client, pair.access, counts=False)
    assert sign_in(client, device, sign_count=3).status_code == 200

    assert_problem(sign_in(client, device, sign_count=0), 401, "webauthn_counter_regression")


def test_a_sign_in_without_user_verification_is_refused(client, pair):
    device = registered(client, pair.access)

    assert_problem(sign_in(client, device, user_verified=False), 400, "webauthn_user_verification_required")


def test_another_origin_is_refused(client, pair):
    device = registered(client, pair.access)

    assert_problem(sign_in(client, device, origin="https://evil.example"), 400, "webauthn_origin_mismatch")


def test_another_rp_id_is_refused(client, pair):
    device = registered(client, pair.access)

    assert_problem(sign_in(client, device, rp_id="evil.example"), 400, "webauthn_rp_id_mismatch")


def test_a_replayed_assertion_is_refused(client, pair):
    device = registered(client, pair.access)
    started = sign_in_options(client)
    body = {"challenge_id": started["challenge_id"], "credential": device.get(started["options"])}
    assert client.post("/auth/webauthn", json=body).status_code == 200

    assert_problem(client.post("/auth/webauthn", json=body), 400, "webauthn_challenge_invalid")


def test_an_answer_to_another_challenge_is_refused(client, pair):
    device = registered(client, pair.access)
    first, second = sign_in_options(client), sign_in_options(client)

    body = {"challenge_id": second["challenge_id"], "credential": device.get(first["options"])}

    assert_problem(client.post("/auth/webauthn", json=body), 400, "webauthn_challenge_invalid")


def test_a_users_second_factor_challenge_cannot_sign_in(client, pair, user):
    device = registered(client, pair.access)
    challenge_id, options = services.assertion_options(user=user)

    response = client.post("/auth/webauthn", json={"challenge_id": challenge_id, "credential": device.get(options)})

    assert_problem(response, 400, "webauthn_challenge_invalid")


def test_a_registration_challenge_cannot_sign_in(client, pair):
    device = registered(client, pair.access)
    started = register_options(client, signed_in(client, device))

    response = client.post(
        "/auth/webauthn", json={"challenge_id": started["challenge_id"], "credential": device.get(started["options"])}
    )

    assert_problem(response, 400, "webauthn_challenge_invalid")


def test_an_expired_challenge_is_refused(client, pair):
    device = registered(client, pair.access)
    started = sign_in_options(client)
    credential = device.get(started["options"])

    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        response = client.post(
            "/auth/webauthn", json={"challenge_id": started["challenge_id"], "credential": credential}
        )

    assert_problem(response, 400, "webauthn_challenge_invalid")


def test_a_deleted_credential_no_longer_signs_in(client, pair):
    device = registered(client, pair.access)
    credential = WebAuthnCredential.objects.get()
    access = signed_in(client, device)
    assert client.delete(f"/users/me/webauthn/{credential.pk}", headers=bearer(access)).status_code == 204

    assert_problem(sign_in(client, device), 401, "webauthn_credential_unknown")


def test_an_unregistered_authenticator_is_refused(client):
    device = authenticator()
    device.user_handle = b"someone"

    assert_problem(sign_in(client, device), 401, "webauthn_credential_unknown")


def test_a_security_key_is_no_passkey_even_when_the_assertion_verifies_the_user(client, pair, user):
    # Registered as a second factor: not discoverable, no user verification asked at registration.
    device = authenticator()
    assert register(client, pair.access, device, passkey=False, user_verified=False).status_code == 201

    assert_problem(sign_in(client, device, user_verified=True), 401, "webauthn_credential_unknown")
    assert Session.objects.filter(user=user).count() == 1
    # It stays a second factor.
    challenge_id, options = services.assertion_options(user=user)
    verified = services.assertion_verify(challenge_id=challenge_id, credential=device.get(options), user=user)
    assert verified.passkey is False


def test_a_user_handle_of_another_user_is_refused(client, pair):
    device = registered(client, pair.access)
    device.user_handle = b"another user's handle"

    assert_problem(sign_in(client, device), 401, "webauthn_credential_unknown")


def test_a_forged_signature_is_refused(client, pair):
    device = registered(client, pair.access)
    started = sign_in_options(client)
    credential = device.get(started["options"])
    credential["response"]["signature"] = device.get(started["options"])["response"]["signature"]

    response = client.post("/auth/webauthn", json={"challenge_id": started["challenge_id"], "credential": credential})

    assert_problem(response, 401, "webauthn_signature_invalid")
    assert WebAuthnCredential.objects.get().sign_count == 0


@pytest.mark.parametrize(
    "credential",
    [{}, {"id": "x", "rawId": "x", "type": "public-key", "response": {}}, {"response": {"signature": []}}],
    ids=["empty", "no-response-fields", "junk"],
)
def test_a_malformed_assertion_is_a_4xx(client, credential):
    started = sign_in_options(client)

    response = client.post("/auth/webauthn", json={"challenge_id": started["challenge_id"], "credential": credential})

    assert_problem(response, 400, "webauthn_credential_malformed")


def test_a_disabled_account_cannot_sign_in(client, pair, user):
    device = registered(client, pair.access)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_problem(sign_in(client, device), 403, "account_disabled")


def test_sign_in_is_throttled_per_ip(client, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "webauthn": "2/min"}

    assert client.post("/auth/webauthn/options").status_code == 200
    assert client.post("/auth/webauthn/options").status_code == 200
    assert_problem(client.post("/auth/webauthn/options"), 429, "throttled")


def test_in_cookie_mode_the_sign_in_needs_the_csrf_header_and_sets_the_cookie(client, pair, settings):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    device = registered(client, pair.access)
    started = sign_in_options(client)
    body = {"challenge_id": started["challenge_id"], "credential": device.get(started["options"])}
    bare = TestClient(api, headers={"HOST": "testserver"})

    assert_problem(bare.post("/auth/webauthn", json=body), 403, "csrf_failed")
    response = client.post("/auth/webauthn", json=body)

    assert response.status_code == 200, response.json()
    assert response.json()["refresh"] is None
    assert any(name.endswith("refresh_token") for name in client.cookies)


# --- the seam for mfa: a second factor, with the user known ---------------------------------------


def test_second_factor_options_list_the_users_credentials(client, pair, user):
    device = registered(client, pair.access)

    _, options = services.assertion_options(user=user)

    assert [item["id"] for item in options["allowCredentials"]] == [b64url(device.credential_id)]
    assert options["userVerification"] == "preferred"


def test_a_second_factor_needs_no_user_verification(client, pair, user):
    device = registered(client, pair.access, backup_eligible=True)
    challenge_id, options = services.assertion_options(user=user)

    verified = services.assertion_verify(
        challenge_id=challenge_id, credential=device.get(options, user_verified=False), user=user
    )

    assert verified.user == user
    assert verified.credential_id == WebAuthnCredential.objects.get().pk
    assert verified.user_verified is False
    assert verified.passkey is True
    assert verified.amr == ("swk",)


def test_a_device_bound_key_that_verified_the_user_is_hwk_and_user(client, pair, user):
    device = registered(client, pair.access)
    challenge_id, options = services.assertion_options(user=user)

    verified = services.assertion_verify(challenge_id=challenge_id, credential=device.get(options), user=user)

    assert verified.amr == ("hwk", "user")


def test_another_users_credential_is_no_second_factor(client, pair, user):
    grace = User.objects.create_user(email="grace@example.com")
    graces_device = registered(client, session_start(user=grace).access)
    registered(client, pair.access)
    challenge_id, options = services.assertion_options(user=user)

    with pytest.raises(services.CredentialUnknown):
        services.assertion_verify(challenge_id=challenge_id, credential=graces_device.get(options), user=user)


def test_a_sign_in_challenge_is_no_second_factor_challenge(client, pair, user):
    device = registered(client, pair.access)
    challenge_id, options = services.assertion_options(user=None)

    with pytest.raises(services.ChallengeInvalid):
        services.assertion_verify(challenge_id=challenge_id, credential=device.get(options), user=user)


def test_a_sign_in_costs_ten_queries(client, pair, django_assert_num_queries):
    device = registered(client, pair.access)
    assert sign_in(client, device).status_code == 200  # from now on a known device (its `device` cookie)
    started = sign_in_options(client)
    body = {"challenge_id": started["challenge_id"], "credential": device.get(started["options"])}

    # The challenge: read and delete; the credential with its user; the counter; last_login; then
    # session_start as for every sign-in (its savepoint, the session, the refresh token, the session cap).
    with django_assert_num_queries(10):
        assert client.post("/auth/webauthn", json=body).status_code == 200
