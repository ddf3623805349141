"""Sign-up, verification, password sign-in, reset and change through the real `api`."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to, link_in, outbox_to
from tests.api.test_events import logs  # noqa: F401 (a fixture)
from tests.api.test_token_api import assert_invalid_token, assert_problem
from tests.conftest import bearer
from tests.hashers import CountingHasher
from tokens.models import Session, SessionEndReason

pytestmark = pytest.mark.django_db


def register(client, email: str = "grace@example.com", password: str = STRONG_PASSWORD, **extra):
    return client.post("/auth/register", json={"email": email, "password": password, **extra})


def sign_in(client, email: str = "grace@example.com", password: str = STRONG_PASSWORD):
    return client.post("/auth/token", json={"email": email, "password": password})


def signed_up(client, email: str = "grace@example.com") -> dict:
    """Registers and verifies an address; the pair the verification answered with."""
    assert register(client, email).status_code == 202
    response = client.post("/auth/email/verify", json={**last_link_to(email.lower()), "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def verified(client) -> dict:
    return signed_up(client)


# --- sign-up and verification --------------------------------------------------------------


def test_register_creates_an_unverified_user_and_emails_a_link(client):
    response = register(client, "Grace@Example.COM", display_name="Grace Hopper")

    assert response.status_code == 202
    user = User.objects.get()
    assert (user.email, user.email_verified, user.display_name) == ("grace@example.com", False, "Grace Hopper")
    assert user.check_password(STRONG_PASSWORD)
    (message,) = mail.outbox
    assert message.to == ["grace@example.com"]
    assert message.subject == "Confirm your email address"
    assert "https://app.example.test/auth/verify-email#uid=" in message.body


def test_verify_marks_the_email_verified_and_answers_a_working_pair(client):
    register(client)
    response = client.post(
        "/auth/email/verify", json={**last_link_to("grace@example.com"), "password": STRONG_PASSWORD}
    )

    assert response.status_code == 200
    assert User.objects.get().email_verified
    me = client.get("/users/me", headers=bearer(response.json()["access"]))
    assert me.json()["email"] == "grace@example.com"


def test_a_verification_link_works_once(client):
    register(client)
    link = last_link_to("grace@example.com")
    assert client.post("/auth/email/verify", json={**link, "password": STRONG_PASSWORD}).status_code == 200

    assert_problem(client.post("/auth/email/verify", json={**link, "password": STRONG_PASSWORD}), 400, "link_invalid")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda link: {**link, "token": link["token"][:-1] + ("a" if link["token"][-1] != "a" else "b")},
        lambda link: {**link, "uid": "MTIzNDU2"},  # another user id
        lambda link: {**link, "uid": "not base64!"},
    ],
)
def test_a_tampered_verification_link_is_refused(client, tamper):
    register(client)

    response = client.post(
        "/auth/email/verify", json={**tamper(last_link_to("grace@example.com")), "password": STRONG_PASSWORD}
    )

    assert_problem(response, 400, "link_invalid")
    assert not User.objects.get().email_verified


def test_a_verification_link_expires(client, settings):
    register(client)
    link = last_link_to("grace@example.com")

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
        assert_problem(
            client.post("/auth/email/verify", json={**link, "password": STRONG_PASSWORD}), 400, "link_invalid"
        )


def test_register_checks_the_password_validators_and_names_what_is_wrong(client):
    response = register(client, password="12345")

    body = assert_problem(response, 422, "password_invalid")
    assert "This password is too short. It must contain at least 8 characters." in body["errors"]
    assert "This password is entirely numeric." in body["errors"]
    assert not User.objects.exists()
    assert not mail.outbox


def test_register_refuses_an_address_that_is_not_one(client):
    assert_problem(register(client, "not-an-address"), 422, "email_invalid")


def test_resend_emails_a_new_link_to_an_unverified_address(client):
    register(client)

    response = client.post("/auth/email/verify/resend", json={"email": "GRACE@example.com"})

    assert response.status_code == 202
    assert len(outbox_to("grace@example.com")) == 2
    assert (
        client.post(
            "/auth/email/verify", json={**last_link_to("grace@example.com"), "password": STRONG_PASSWORD}
        ).status_code
        == 200
    )


def test_resend_answers_the_same_for_unknown_and_verified_addresses_and_sends_nothing(client, verified):
    mail.outbox.clear()
    unknown = client.post("/auth/email/verify/resend", json={"email": "nobody@example.com"})
    known = client.post("/auth/email/verify/resend", json={"email": "grace@example.com"})

    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert known.status_code == 202
    assert not mail.outbox


# --- no enumeration at sign-up -------------------------------------------------------------


def test_register_answers_alike_for_new_taken_and_unverified_addresses_with_the_same_work(client, verified):
    register(client, "pending@example.com")
    mail.outbox.clear()
    answers, work = {}, {}
    for case, email in [
        ("new", "new@example.com"),
        ("taken", "grace@example.com"),
        ("unverified", "pending@example.com"),
    ]:
        CountingHasher.calls.clear()
        response = register(client, email, password="another strong passphrase")
        answers[case] = (response.status_code, response.json())
        work[case] = dict(CountingHasher.calls)

    assert answers["new"] == answers["taken"] == answers["unverified"]
    assert answers["new"][0] == 202
    assert work["new"] == work["taken"] == work["unverified"] == {"encode": 1}


def test_a_taken_address_gets_a_someone_tried_email_and_keeps_its_password(client, verified):
    mail.outbox.clear()
    register(client, "grace@example.com", password="the attacker's passphrase")

    (message,) = mail.outbox
    assert message.subject == "Someone tried to sign up with your email address"
    assert sign_in(client, password="the attacker's passphrase").status_code == 401
    assert sign_in(client).status_code == 200


def test_signing_up_an_unverified_address_again_never_changes_its_password(client):
    register(client, password="the first passphrase")
    mail.outbox.clear()

    register(client, password="the second passphrase")

    (message,) = mail.outbox
    assert message.subject == "Someone tried to sign up with your email address"
    assert User.objects.get().check_password("the first passphrase")


# --- password sign-in ----------------------------------------------------------------------


def test_password_sign_in_answers_a_working_pair(client, verified):
    response = sign_in(client, "GRACE@Example.com")

    assert response.status_code == 200
    assert client.get("/users/me", headers=bearer(response.json()["access"])).status_code == 200
    assert User.objects.get().last_login is not None


def test_unknown_email_and_wrong_password_are_one_answer_after_one_check_each(client, verified):
    sign_in(client, "warm-up@example.com")  # The dummy hash is made once per process, at first use.
    answers, work = {}, {}
    for case, email, password in [
        ("unknown email", "nobody@example.com", STRONG_PASSWORD),
        ("wrong password", "grace@example.com", "not the passphrase"),
        ("not an address", "nobody", STRONG_PASSWORD),
    ]:
        CountingHasher.calls.clear()
        response = sign_in(client, email, password)
        answers[case] = (response.status_code, response.json(), response.get("WWW-Authenticate"))
        work[case] = dict(CountingHasher.calls)

    assert answers["unknown email"] == answers["wrong password"] == answers["not an address"]
    assert answers["unknown email"][1]["code"] == "credentials_invalid"
    assert answers["unknown email"][0] == 401
    assert work["unknown email"] == work["wrong password"] == work["not an address"] == {"verify": 1}


def test_a_user_without_a_password_gets_the_same_answer_and_work(client, user):
    sign_in(client, "warm-up@example.com")  # The dummy hash is made once per process, at first use.
    CountingHasher.calls.clear()
    assert_problem(sign_in(client, "ada@example.com"), 401, "credentials_invalid")
    assert dict(CountingHasher.calls) == {"verify": 1}


def test_email_unverified_only_after_the_right_password(client):
    register(client)

    assert_problem(sign_in(client, password="not the passphrase"), 401, "credentials_invalid")
    assert_problem(sign_in(client), 403, "email_unverified")


def test_a_disabled_user_is_told_so_only_after_the_right_password(client, verified):
    User.objects.update(is_active=False)

    assert_problem(sign_in(client, password="not the passphrase"), 401, "credentials_invalid")
    assert_problem(sign_in(client), 403, "account_disabled")


# --- reset -----------------------------------------------------------------------------------


def test_reset_answers_alike_for_known_and_unknown_addresses(client, verified):
    mail.outbox.clear()
    unknown = client.post("/auth/password/reset", json={"email": "nobody@example.com"})
    known = client.post("/auth/password/reset", json={"email": "Grace@example.com"})

    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert known.status_code == 202
    (message,) = mail.outbox
    assert message.to == ["grace@example.com"]
    assert "https://app.example.test/auth/reset-password#uid=" in message.body


def test_reset_confirm_sets_the_password_ends_every_session_and_answers_a_new_pair(client, verified):
    other = sign_in(client).json()
    client.post("/auth/password/reset", json={"email": "grace@example.com"})

    response = client.post(
        "/auth/password/reset/confirm", json={**last_link_to("grace@example.com"), "new_password": "a brand new one"}
    )

    assert response.status_code == 200
    for old in (verified, other):
        assert_invalid_token(client.get("/auth/whoami", headers=bearer(old["access"])), "token_revoked")
    assert client.get("/auth/whoami", headers=bearer(response.json()["access"])).status_code == 200
    assert sign_in(client, password="a brand new one").status_code == 200
    assert_problem(sign_in(client), 401, "credentials_invalid")
    assert set(Session.objects.exclude(ended_at=None).values_list("end_reason", flat=True)) == {
        SessionEndReason.PASSWORD_CHANGED
    }


def test_a_reset_link_works_once(client, verified):
    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    link = last_link_to("grace@example.com")
    assert (
        client.post("/auth/password/reset/confirm", json={**link, "new_password": "a brand new one"}).status_code == 200
    )

    again = client.post("/auth/password/reset/confirm", json={**link, "new_password": "yet another one!"})
    assert_problem(again, 400, "link_invalid")


def test_reset_confirm_checks_the_password_validators(client, verified):
    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    link = last_link_to("grace@example.com")

    body = assert_problem(
        client.post("/auth/password/reset/confirm", json={**link, "new_password": "grace"}), 422, "password_invalid"
    )
    assert body["errors"]
    # The link still works for a better password.
    assert (
        client.post("/auth/password/reset/confirm", json={**link, "new_password": "a brand new one"}).status_code == 200
    )


def test_reset_verifies_the_address_of_an_unverified_account(client):
    register(client)
    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    link = link_in(outbox_to("grace@example.com")[-1])

    assert (
        client.post("/auth/password/reset/confirm", json={**link, "new_password": "a brand new one"}).status_code == 200
    )
    assert User.objects.get().email_verified


def test_a_user_without_a_password_can_set_one_by_reset(client, user):
    client.post("/auth/password/reset", json={"email": "ada@example.com"})

    confirm = client.post(
        "/auth/password/reset/confirm", json={**last_link_to("ada@example.com"), "new_password": "ada's own passphrase"}
    )

    assert confirm.status_code == 200
    assert sign_in(client, "ada@example.com", "ada's own passphrase").status_code == 200


# --- change ----------------------------------------------------------------------------------


def test_change_password_ends_every_other_session(client, verified):
    other = sign_in(client).json()

    response = client.post(
        "/users/me/password",
        json={"current_password": STRONG_PASSWORD, "new_password": "a brand new one"},
        headers=bearer(verified["access"]),
    )

    assert response.status_code == 204
    assert client.get("/auth/whoami", headers=bearer(verified["access"])).status_code == 200
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(other["access"])), "token_revoked")
    assert client.post("/auth/token/refresh", json={"refresh": verified["refresh"]}).status_code == 200
    assert sign_in(client, password="a brand new one").status_code == 200


def test_change_password_needs_the_current_one(client, verified):
    for current in ("not the passphrase", None):
        response = client.post(
            "/users/me/password",
            json={"current_password": current, "new_password": "a brand new one"},
            headers=bearer(verified["access"]),
        )
        assert_problem(response, 403, "password_incorrect")
    assert sign_in(client).status_code == 200


def test_change_password_checks_the_validators(client, verified):
    response = client.post(
        "/users/me/password",
        json={"current_password": STRONG_PASSWORD, "new_password": "grace@example.com"},
        headers=bearer(verified["access"]),
    )
    body = assert_problem(response, 422, "password_invalid")
    assert "The password is too similar to the email." in body["errors"]


def test_a_user_without_a_password_sets_a_first_one_after_a_recent_sign_in(client, pair, settings):
    response = client.post(
        "/users/me/password", json={"new_password": "ada's own passphrase"}, headers=bearer(pair.access)
    )
    assert response.status_code == 204

    User.objects.update(password="!unusable")
    Session.objects.update(auth_time=Session.objects.get().auth_time - timedelta(hours=1))
    late = client.post("/users/me/password", json={"new_password": "ada's own passphrase"}, headers=bearer(pair.access))
    assert_problem(late, 403, "reauthentication_required")


def test_change_password_needs_a_bearer_token(client, db):
    response = client.post("/users/me/password", json={"current_password": "x", "new_password": "y"})
    assert_problem(response, 401, "not_authenticated")


# --- AUTH_PASSWORD_LOGIN=0 and throttling ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/register", {"email": "grace@example.com", "password": STRONG_PASSWORD}),
        ("/auth/email/verify", {"uid": "MQ", "token": "x-y"}),
        ("/auth/email/verify/resend", {"email": "grace@example.com"}),
        ("/auth/token", {"email": "grace@example.com", "password": STRONG_PASSWORD}),
        ("/auth/password/reset", {"email": "grace@example.com"}),
        ("/auth/password/reset/confirm", {"uid": "MQ", "token": "x-y", "new_password": STRONG_PASSWORD}),
    ],
)
def test_password_features_are_off_with_auth_password_login_0(client, settings, path, body):
    settings.AUTH_PASSWORD_LOGIN = False

    assert_problem(client.post(path, json=body), 404, "password_login_disabled")
    assert not mail.outbox


def test_password_change_is_off_with_auth_password_login_0(client, pair, settings):
    settings.AUTH_PASSWORD_LOGIN = False
    response = client.post("/users/me/password", json={"new_password": STRONG_PASSWORD}, headers=bearer(pair.access))
    assert_problem(response, 404, "password_login_disabled")


@pytest.fixture
def one_window():
    """Counts start afresh at each window (aligned to the clock): keep the test inside one."""
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1), tick=False):
        yield


def test_failed_password_sign_ins_are_limited_per_email_whatever_the_client_ip(client, verified, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "sign_in_email": "3/min"}
    statuses = [
        client.post(
            "/auth/token", json={"email": email, "password": "guess"}, META={"REMOTE_ADDR": f"192.0.2.{n}"}
        ).status_code
        for n, email in enumerate(["grace@example.com", "GRACE@example.com", "grace@EXAMPLE.com", "grace@example.com"])
    ]
    assert statuses == [401, 401, 401, 429]
    # Another address has its own budget.
    assert sign_in(client, "nobody@example.com").status_code == 401


def test_password_sign_in_is_limited_per_client_ip(client, db, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "password": "2/min"}
    statuses = [sign_in(client, f"user{n}@example.com").status_code for n in range(3)]
    assert statuses == [401, 401, 429]
    assert_problem(sign_in(client, "user9@example.com"), 429, "throttled")


# --- hashing -------------------------------------------------------------------------------------


def test_argon2_is_the_default_hasher(settings, db):
    from config import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = User.objects.create_user(email="hedy@example.com", password=STRONG_PASSWORD)

    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(STRONG_PASSWORD)


# --- /users/me moved to accounts, with the sign-in's claims added ---------------------------------------


def test_users_me_answers_the_same_profile_as_before(client, verified):
    body = client.get("/users/me", headers=bearer(verified["access"])).json()
    # And how the session signed in (docs/mfa.md).
    assert set(body) == {
        "id",
        "email",
        "display_name",
        "avatar_url",
        "date_joined",
        "language",
        "auth_time",
        "amr",
        "acr",
    }


# --- the event log -------------------------------------------------------------------------------


def test_password_sign_ins_are_auth_events_and_never_log_the_password(client, verified, logs):  # noqa: F811
    sign_in(client, password="a wrong passphrase")
    sign_in(client)

    events = [(line["event"], line["outcome"]) for line in logs.events()]
    assert ("sign_in", "credentials_invalid") in events
    assert ("sign_in", "success") in events
    everything = logs.everything.getvalue()
    assert STRONG_PASSWORD not in everything
    assert "a wrong passphrase" not in everything
