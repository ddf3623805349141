"""Registering WebAuthn credentials (passkeys and second-factor keys), listing and removing them,
through the real API with the software authenticator of tests/webauthn_authenticator.py."""

import hashlib
import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.models import User
from passkeys import selectors
from passkeys.models import WebAuthnChallenge, WebAuthnCredential
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tests.passkeys_helpers import (
    ORIGIN,
    RP_ID,
    authenticator,
    register,
    register_options,
    registered,
    signed_in,
    webauthn_on,  # noqa: F401  (the fixture)
)
from tests.webauthn_authenticator import b64url
from tokens.services import session_start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webauthn_on")]


def test_passkey_options_require_a_discoverable_credential_and_user_verification(client, pair):
    started = register_options(client, pair.access, passkey=True)

    options = started["options"]
    assert started["challenge_id"]
    assert options["rp"] == {"id": RP_ID, "name": "Example"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["requireResidentKey"] is True
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["user"]["name"] == "ada@example.com"
    assert options["excludeCredentials"] == []
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]


def test_second_factor_options_ask_for_presence_only(client, pair):
    options = register_options(client, pair.access, passkey=False)["options"]

    assert options["authenticatorSelection"]["residentKey"] == "discouraged"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"


def test_registration_stores_the_credential_and_lists_it(client, pair, user, caplog):
    device = authenticator()
    with caplog.at_level(logging.INFO, logger="auth.events"):
        response = register(client, pair.access, device, name="Work laptop")

    assert response.status_code == 201, response.json()
    stored = WebAuthnCredential.objects.get(pk=response.json()["id"])
    assert stored.user == user
    assert bytes(stored.credential_id) == device.credential_id
    assert stored.credential_id_sha256 == hashlib.sha256(device.credential_id).hexdigest()
    assert stored.passkey is True
    assert stored.transports == ["internal", "hybrid"]
    assert stored.name == "Work laptop"
    assert '"event":"webauthn_registered"' in caplog.text
    listed = client.get("/users/me/webauthn", headers=bearer(pair.access)).json()
    assert [(item["id"], item["name"], item["passkey"], item["last_used_at"]) for item in listed] == [
        (stored.pk, "Work laptop", True, None)
    ]
    assert [item["id"] for item in selectors.credentials_list(user=user)] == [stored.pk]


def test_the_next_options_exclude_registered_credentials_and_keep_the_user_handle(client, pair):
    first = registered(client, pair.access)

    options = register_options(client, signed_in(client, first))["options"]

    assert [item["id"] for item in options["excludeCredentials"]] == [b64url(first.credential_id)]
    assert options["excludeCredentials"][0]["transports"] == ["internal", "hybrid"]
    assert options["user"]["id"] == b64url(first.user_handle)


def test_the_same_authenticator_twice_is_409(client, pair):
    device = registered(client, pair.access)

    assert_problem(register(client, signed_in(client, device), device), 409, "webauthn_credential_exists")


def test_a_second_factor_key_without_user_verification_is_no_passkey(client, pair):
    response = register(client, pair.access, authenticator(), passkey=False, user_verified=False)

    assert response.status_code == 201, response.json()
    assert WebAuthnCredential.objects.get().passkey is False


def test_a_passkey_without_user_verification_is_refused(client, pair):
    response = register(client, pair.access, authenticator(), passkey=True, user_verified=False)

    assert_problem(response, 400, "webauthn_user_verification_required")
    assert not WebAuthnCredential.objects.exists()


def test_another_origin_is_refused(client, pair):
    response = register(client, pair.access, authenticator(), origin="https://evil.example")

    assert_problem(response, 400, "webauthn_origin_mismatch")
    assert not WebAuthnCredential.objects.exists()


def test_another_rp_id_is_refused(client, pair):
    response = register(client, pair.access, authenticator(), rp_id="evil.example")

    assert_problem(response, 400, "webauthn_rp_id_mismatch")


def test_a_challenge_answers_once(client, pair):
    started = register_options(client, pair.access)
    first = authenticator()
    body = {"challenge_id": started["challenge_id"], "credential": first.create(started["options"])}
    assert client.post("/users/me/webauthn/register", json=body, headers=bearer(pair.access)).status_code == 201

    # Again, from a session strong enough to add a factor now that the user has one (the passkey's own).
    body = {"challenge_id": started["challenge_id"], "credential": authenticator().create(started["options"])}
    response = client.post("/users/me/webauthn/register", json=body, headers=bearer(signed_in(client, first)))

    assert_problem(response, 400, "webauthn_challenge_invalid")
    assert WebAuthnCredential.objects.count() == 1


def test_another_users_challenge_is_refused_and_spent(client, pair):
    grace = User.objects.create_user(email="grace@example.com")
    theirs = register_options(client, session_start(user=grace).access)
    body = {"challenge_id": theirs["challenge_id"], "credential": authenticator().create(theirs["options"])}

    assert_problem(
        client.post("/users/me/webauthn/register", json=body, headers=bearer(pair.access)),
        400,
        "webauthn_challenge_invalid",
    )
    assert not WebAuthnChallenge.objects.exists()


def test_a_sign_in_challenge_cannot_register(client, pair):
    sign_in = client.post("/auth/webauthn/options").json()
    options = register_options(client, pair.access)["options"]
    body = {
        "challenge_id": sign_in["challenge_id"],
        "credential": authenticator().create({**options, "challenge": sign_in["options"]["challenge"]}),
    }

    response = client.post("/users/me/webauthn/register", json=body, headers=bearer(pair.access))

    assert_problem(response, 400, "webauthn_challenge_invalid")


def test_an_expired_challenge_is_refused(client, pair):
    started = register_options(client, pair.access)
    credential = authenticator().create(started["options"])

    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        response = client.post(
            "/users/me/webauthn/register",
            json={"challenge_id": started["challenge_id"], "credential": credential},
            headers=bearer(pair.access),
        )

    assert_problem(response, 400, "webauthn_challenge_invalid")


def test_expired_challenges_are_cleared_by_the_next_options(client, pair):
    register_options(client, pair.access)
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        register_options(client, pair.access)

    assert WebAuthnChallenge.objects.count() == 1


@pytest.mark.parametrize(
    "bend",
    [
        lambda c: {},
        lambda c: {**c, "rawId": "!!not base64!!"},
        lambda c: {**c, "response": "text"},
        lambda c: {**c, "response": {**c["response"], "attestationObject": b64url(b"\xff\x00garbage")}},
        lambda c: {**c, "response": {**c["response"], "clientDataJSON": b64url(b"{not json")}},
        lambda c: {**c, "response": {**c["response"], "clientDataJSON": 42}},
        lambda c: {**c, "type": "password"},
    ],
    ids=["empty", "raw-id", "response-text", "attestation-cbor", "client-data", "client-data-type", "type"],
)
def test_a_malformed_credential_is_a_4xx(client, pair, bend):
    started = register_options(client, pair.access)
    credential = bend(authenticator().create(started["options"]))

    response = client.post(
        "/users/me/webauthn/register",
        json={"challenge_id": started["challenge_id"], "credential": credential},
        headers=bearer(pair.access),
    )

    assert 400 <= response.status_code < 500, response.json()
    assert response["Content-Type"] == "application/problem+json"


def test_unknown_transports_are_dropped(client, pair):
    started = register_options(client, pair.access)
    credential = authenticator().create(started["options"])
    credential["response"]["transports"] = ["usb", 1, {"x": 2}, "smoke-signal"]

    response = client.post(
        "/users/me/webauthn/register",
        json={"challenge_id": started["challenge_id"], "credential": credential},
        headers=bearer(pair.access),
    )

    assert response.status_code == 201, response.json()
    assert WebAuthnCredential.objects.get().transports == ["usb"]


def test_a_malformed_challenge_id_is_refused(client, pair):
    response = client.post(
        "/users/me/webauthn/register",
        json={"challenge_id": "nope", "credential": {}},
        headers=bearer(pair.access),
    )

    assert_problem(response, 400, "webauthn_challenge_invalid")


def test_delete_removes_the_users_credential_only(client, pair, caplog):
    access = signed_in(client, registered(client, pair.access))
    mine = WebAuthnCredential.objects.get()
    grace = User.objects.create_user(email="grace@example.com")
    grace_access = session_start(user=grace).access
    registered(client, grace_access)
    theirs = WebAuthnCredential.objects.get(user=grace)

    assert_problem(
        client.delete(f"/users/me/webauthn/{theirs.pk}", headers=bearer(access)),
        404,
        "webauthn_credential_not_found",
    )
    with caplog.at_level(logging.INFO, logger="auth.events"):
        assert client.delete(f"/users/me/webauthn/{mine.pk}", headers=bearer(access)).status_code == 204

    assert list(WebAuthnCredential.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert '"event":"webauthn_deleted"' in caplog.text
    assert client.get("/users/me/webauthn", headers=bearer(pair.access)).json() == []


def test_the_endpoints_need_a_bearer(client):
    assert client.post("/users/me/webauthn/register/options", json={"passkey": True}).status_code == 401


def test_off_answers_404(client, pair, settings):
    settings.AUTH_WEBAUTHN = False

    assert_problem(
        client.post("/users/me/webauthn/register/options", json={}, headers=bearer(pair.access)),
        404,
        "webauthn_disabled",
    )
    assert_problem(client.post("/auth/webauthn/options"), 404, "webauthn_disabled")


def test_origins_are_exact(client, pair, settings):
    settings.WEBAUTHN_ORIGINS = [ORIGIN]

    response = register(client, pair.access, authenticator(), origin=f"{ORIGIN}:443")

    assert_problem(response, 400, "webauthn_origin_mismatch")


@pytest.mark.parametrize("name", ["k\u0000", "line\nbreak", "\u202eevil"])
def test_a_name_with_control_characters_is_a_422_not_a_500(client, pair, name):
    response = register(client, pair.access, authenticator(), name=name)

    assert_problem(response, 422, "validation_error")
    assert not WebAuthnCredential.objects.exists()
