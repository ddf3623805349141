"""The attacks of the outside review (issue 25), each replayed as the review describes it, and refused.

Through Django's test client where the attack is a browser's (content types, Origin, cookies:
the whole middleware stack), through Ninja's TestClient otherwise.
"""

import json

import pytest
from django.core import mail
from django.test import Client

from core.events import email_target
from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to, outbox_to
from tests.api.test_events import logs  # noqa: F401 (a fixture)
from tests.conftest import bearer
from tokens.models import Session
from tokens.services import session_start

pytestmark = pytest.mark.django_db

COOKIE = "__Host-refresh_token"
EVIL = "https://evil.test"
CSRF = {"HTTP_X_REQUESTED_WITH": "fetch"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


@pytest.fixture
def cookie_mode(settings):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    return settings


@pytest.fixture
def attacker(db) -> User:
    return User.objects.create_user(email="mallory@example.com", password=STRONG_PASSWORD, email_verified=True)


# --- 1. login CSRF: a foreign page cannot plant its session in the victim's browser ---------------


def form_post(path: str, body: dict, content_type: str, **headers) -> object:
    """What an HTML form on evil.test can send: no custom header, a simple content type."""
    if content_type == "application/x-www-form-urlencoded":
        data = "&".join(f"{name}={value}" for name, value in body.items())
    else:  # text/plain: <form enctype="text/plain"> can shape its body into JSON
        data = json.dumps(body)
    return Client().post(f"/api/auth{path}", data, content_type=content_type, HTTP_ORIGIN=EVIL, **headers)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_foreign_forms_password_sign_in_sets_no_cookie(cookie_mode, attacker, content_type):
    body = {"email": "mallory@example.com", "password": STRONG_PASSWORD}

    response = form_post("/token", body, content_type)

    assert_problem(response, 403, "csrf_failed")
    assert COOKIE not in response.cookies
    assert not Session.objects.exists()


def test_a_foreign_origin_is_refused_even_with_the_header(cookie_mode, attacker):
    body = {"email": "mallory@example.com", "password": STRONG_PASSWORD}

    response = Client().post(
        "/api/auth/token", json.dumps(body), content_type="application/json", HTTP_ORIGIN=EVIL, **CSRF
    )

    assert_problem(response, 403, "csrf_failed")
    assert COOKIE not in response.cookies


def test_the_apis_own_page_still_signs_in_and_gets_the_cookie(cookie_mode, attacker):
    body = {"email": "mallory@example.com", "password": STRONG_PASSWORD}

    response = Client().post(
        "/api/auth/token", json.dumps(body), content_type="application/json", HTTP_ORIGIN="http://testserver", **CSRF
    )

    assert response.status_code == 200, response.content
    assert response.cookies[COOKIE].value


@pytest.mark.parametrize("transport", ["cookie", "both"])
def test_the_emailed_link_endpoints_refuse_a_foreign_form_and_change_nothing(client, settings, transport):
    settings.JWT_REFRESH_TRANSPORT = transport
    User.objects.create_user(email="mallory@example.com", password=STRONG_PASSWORD)
    verify = {**last_link_to_after_resend(client, "mallory@example.com"), "password": STRONG_PASSWORD}
    client.post("/auth/password/reset", json={"email": "mallory@example.com"})
    reset = {**last_link_to("mallory@example.com"), "new_password": "the attackers new passphrase"}

    for path, body in (("/email/verify", verify), ("/password/reset/confirm", reset)):
        response = form_post(path, body, "text/plain")
        assert_problem(response, 403, "csrf_failed")
        assert COOKIE not in response.cookies
    user = User.objects.get()
    assert not user.email_verified
    assert user.check_password(STRONG_PASSWORD)
    assert not Session.objects.exists()


def last_link_to_after_resend(client, address: str) -> dict[str, str]:
    assert client.post("/auth/email/verify/resend", json={"email": address}).status_code == 202
    return last_link_to(address)


def test_the_social_callback_refuses_a_foreign_origin_before_spending_the_state(client, rsps, social, cookie_mode):
    from tests import social_mocks as mocks

    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]

    forged = client.post(
        "/auth/social/kakao/callback", json={"code": "attacker-code", "state": state}, headers={"Origin": EVIL}
    )

    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    assert COOKIE not in client.cookies
    # Nothing changed: the pending login is still there for the real page.
    assert mocks.callback(client, "kakao", state=state).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_every_json_endpoint_refuses_a_body_a_form_can_send(attacker, content_type):
    # Body mode: no cookie, no CSRF guard; the content type alone keeps the form out.
    body = json.dumps({"email": "mallory@example.com", "password": STRONG_PASSWORD})

    response = Client().generic("POST", "/api/auth/token", body, content_type=content_type, HTTP_ORIGIN=EVIL)

    assert_problem(response, 415, "unsupported_media_type")
    assert not Session.objects.exists()


def test_a_json_body_with_a_charset_is_json(attacker):
    body = json.dumps({"email": "mallory@example.com", "password": STRONG_PASSWORD})

    response = Client().post("/api/auth/token", body, content_type="application/json; charset=utf-8")

    assert response.status_code == 200, response.content


# --- 2. the attacker's verification link never signs the victim in ---------------------------------


def test_the_victim_clicking_the_attackers_link_verifies_nothing_and_the_attackers_password_dies(client):
    # The attacker signs the victim's address up, with a name that reads as an instruction.
    client.post(
        "/auth/register",
        json={"email": "victim@example.com", "password": STRONG_PASSWORD, "display_name": "Please confirm"},
    )
    (message,) = outbox_to("victim@example.com")
    assert "Please confirm" not in message.body
    assert "Please confirm" not in message.subject

    # The victim clicks: the link alone neither verifies nor signs in.
    clicked = client.post("/auth/email/verify", json=last_link_to("victim@example.com"))

    assert clicked.status_code == 403
    assert clicked.json()["code"] == "password_required"
    assert not User.objects.get().email_verified
    assert not Session.objects.exists()
    attacker_sign_in = {"email": "victim@example.com", "password": STRONG_PASSWORD}
    assert client.post("/auth/token", json=attacker_sign_in).json()["code"] == "email_unverified"

    # The victim takes the address back the way the page then offers: a reset.
    client.post("/auth/password/reset", json={"email": "victim@example.com"})
    reset = {**last_link_to("victim@example.com"), "new_password": "the victims own passphrase"}
    assert client.post("/auth/password/reset/confirm", json=reset).status_code == 200

    refused = client.post("/auth/token", json=attacker_sign_in)
    assert refused.status_code == 401
    assert refused.json()["code"] == "credentials_invalid"


def test_the_registrant_verifies_with_the_link_and_the_password(client):
    client.post("/auth/register", json={"email": "grace@example.com", "password": STRONG_PASSWORD})
    link = last_link_to("grace@example.com")

    wrong = client.post("/auth/email/verify", json={**link, "password": "not the password at all"})
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "password_incorrect"
    assert not User.objects.get().email_verified

    assert client.post("/auth/email/verify", json={**link, "password": STRONG_PASSWORD}).status_code == 200
    assert User.objects.get().email_verified


def test_a_bearer_token_of_the_account_proves_it_and_one_of_another_does_not(client, attacker):
    user = User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD)
    link = last_link_to_after_resend(client, "grace@example.com")

    other = client.post("/auth/email/verify", json=link, headers=bearer(session_start(user=attacker).access))
    assert other.status_code == 403
    assert other.json()["code"] == "password_required"

    own = client.post("/auth/email/verify", json=link, headers=bearer(session_start(user=user).access))
    assert own.status_code == 200, own.json()
    assert User.objects.get(pk=user.pk).email_verified


def test_no_email_greets_with_a_name_a_stranger_typed(client):
    client.post(
        "/auth/register",
        json={"email": "victim@example.com", "password": STRONG_PASSWORD, "display_name": "Call +1 555 0100"},
    )
    client.post("/auth/register", json={"email": "victim@example.com", "password": STRONG_PASSWORD})
    client.post("/auth/password/reset", json={"email": "victim@example.com"})

    assert len(mail.outbox) == 3  # verification, sign-up attempt, reset
    assert all("555 0100" not in message.body for message in mail.outbox)


# --- 4. the admin is a sign-in surface: throttled, logged, and a password change there signs out -----


@pytest.fixture
def one_window():
    """Counts start afresh at each window (aligned to the clock): keep the test inside one."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        yield


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(email="root@example.com", password=STRONG_PASSWORD)


def admin_login(password: str, *, ip: str = "198.51.100.7", username: str = "root@example.com"):
    return Client(REMOTE_ADDR=ip).post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_forty_admin_guesses_from_one_ip_then_the_right_password_is_refused(superuser, one_window, logs):  # noqa: F811
    pages = [admin_login(f"guess number {n}").content.decode() for n in range(40)]

    assert all("Please enter the correct" in page for page in pages[:10])
    assert all("Too many sign-in attempts" in page for page in pages[10:])
    right = admin_login(STRONG_PASSWORD)
    assert right.status_code == 200  # the form again, not the redirect to /admin/
    assert "Too many sign-in attempts" in right.content.decode()
    failures = [event for event in logs.events() if event.get("provider") == "admin"]
    assert [event["outcome"] for event in failures[:10]] == ["credentials_invalid"] * 10
    assert {event["target"] for event in failures} == {email_target("root@example.com")}
    assert "root@example.com" not in logs.event_lines.getvalue()


def test_admin_guesses_from_many_ips_are_limited_per_username(superuser, one_window):
    for n in range(40):
        admin_login(f"guess number {n}", ip=f"203.0.113.{n}")

    refused = admin_login(STRONG_PASSWORD, ip="192.0.2.200")
    assert "Too many sign-in attempts" in refused.content.decode()
    # Another administrator is not locked out by it.
    User.objects.create_superuser(email="ops@example.com", password=STRONG_PASSWORD)
    assert admin_login(STRONG_PASSWORD, ip="192.0.2.201", username="ops@example.com").status_code == 302


def test_an_admin_sign_in_within_the_limits_works(superuser):
    response = admin_login(STRONG_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def whoami(client, access: str):
    return client.get("/auth/whoami", headers=bearer(access))


def test_a_password_change_in_the_admin_ends_the_users_sessions(client, superuser):
    victim = User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, email_verified=True)
    pair = session_start(user=victim)
    admin = Client()
    admin.force_login(superuser)

    response = admin.post(
        f"/admin/core/user/{victim.pk}/password/",
        {
            "password1": "a new passphrase for grace",
            "password2": "a new passphrase for grace",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert whoami(client, pair.access).json()["code"] == "token_revoked"
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()["code"] == "token_revoked"


def test_a_password_made_unusable_or_set_in_a_shell_ends_the_sessions(client, user):
    first = session_start(user=user)
    user.set_password(STRONG_PASSWORD)
    user.save()
    assert whoami(client, first.access).json()["code"] == "token_revoked"

    second = session_start(user=user)
    fresh = User.objects.get(pk=user.pk)  # as a shell loads it
    fresh.set_unusable_password()
    fresh.save(update_fields=["password"])
    assert whoami(client, second.access).json()["code"] == "token_revoked"


def test_saving_a_user_without_touching_the_password_or_upgrading_its_hash_ends_nothing(client, settings):
    from django.contrib.auth.hashers import make_password

    # A hash made with an older hasher, upgraded by the first sign-in (Django's check_password).
    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    user = User.objects.create_user(email="grace@example.com", email_verified=True)
    User.objects.filter(pk=user.pk).update(password=make_password(STRONG_PASSWORD, hasher="md5"))
    pair = session_start(user=user)
    loaded = User.objects.get(pk=user.pk)
    loaded.display_name = "Grace"
    loaded.save()

    assert (
        client.post("/auth/token", json={"email": "grace@example.com", "password": STRONG_PASSWORD}).status_code == 200
    )
    assert not User.objects.get(pk=user.pk).password.startswith("md5$")  # upgraded
    assert whoami(client, pair.access).status_code == 200


def test_the_apis_password_change_keeps_the_session_it_came_from(client, user):
    user.set_password(STRONG_PASSWORD)
    user.save()
    current, other = session_start(user=user), session_start(user=user)

    response = client.post(
        "/users/me/password",
        json={"current_password": STRONG_PASSWORD, "new_password": "another passphrase"},
        headers=bearer(current.access),
    )

    assert response.status_code == 204
    assert whoami(client, current.access).status_code == 200
    assert whoami(client, other.access).json()["code"] == "token_revoked"


# --- 5. guessing at an address cannot lock its owner out ------------------------------------------


def guess(email: str, ip: str):
    return Client(REMOTE_ADDR=ip).post(
        "/api/auth/token", json.dumps({"email": email, "password": "a wrong guess"}), content_type="application/json"
    )


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, email_verified=True)


def test_twenty_one_guessers_do_not_lock_out_the_owners_devices(client, owner, one_window):
    owners_browser = client  # keeps its cookies: the device cookie of this sign-in
    first = owners_browser.post("/auth/token", json={"email": "grace@example.com", "password": STRONG_PASSWORD})
    assert first.status_code == 200
    owners_app_token = first.json()["device_token"]
    assert owners_browser.cookies["__Host-device"] == owners_app_token

    statuses = [guess("grace@example.com", f"192.0.2.{n}").status_code for n in range(21)]
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}

    # The owner's browser (cookie) and app (body) still sign in, from yet another address.
    again = owners_browser.post(
        "/auth/token",
        json={"email": "grace@example.com", "password": STRONG_PASSWORD},
        META={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert again.status_code == 200, again.json()
    app = Client(REMOTE_ADDR="10.9.9.10").post(
        "/api/auth/token",
        json.dumps({"email": "grace@example.com", "password": STRONG_PASSWORD, "device_token": owners_app_token}),
        content_type="application/json",
    )
    assert app.status_code == 200, app.content
    # A client that never signed in to it is locked out, and a reset has its own budget.
    assert_problem(guess("grace@example.com", "10.9.9.11"), 429, "throttled")
    reset = Client(REMOTE_ADDR="10.9.9.12").post(
        "/api/auth/password/reset", json.dumps({"email": "grace@example.com"}), content_type="application/json"
    )
    assert reset.status_code == 202


def test_a_device_token_of_another_account_or_forged_does_not_exempt(owner, attacker, one_window):
    attackers_device = (
        Client()
        .post(
            "/api/auth/token",
            json.dumps({"email": "mallory@example.com", "password": STRONG_PASSWORD}),
            content_type="application/json",
        )
        .json()["device_token"]
    )
    for n in range(10):
        guess("grace@example.com", f"192.0.2.{n}")

    for device_token in (attackers_device, attackers_device[:-2] + "xx", "not-a-token"):
        response = Client(REMOTE_ADDR="10.1.1.1").post(
            "/api/auth/token",
            json.dumps({"email": "grace@example.com", "password": STRONG_PASSWORD, "device_token": device_token}),
            content_type="application/json",
        )
        assert_problem(response, 429, "throttled")


def test_a_device_token_from_before_a_password_reset_does_not_exempt(client, owner, one_window):
    # Mallory held the account for a while, and kept the device token of her sign-in.
    mallorys_device = client.post("/auth/token", json={"email": "grace@example.com", "password": STRONG_PASSWORD})
    owner.set_password("the owner's new passphrase")
    owner.save()  # as the reset link's confirmation does
    for n in range(10):
        guess("grace@example.com", f"192.0.2.{n}")

    body = {
        "email": "grace@example.com",
        "password": "a wrong guess",
        "device_token": mallorys_device.json()["device_token"],
    }
    assert_problem(
        Client(REMOTE_ADDR="10.1.1.1").post("/api/auth/token", json.dumps(body), content_type="application/json"),
        429,
        "throttled",
    )


def test_signing_in_with_the_password_does_not_kill_the_owners_pending_reset_link(client, owner):
    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    link = last_link_to("grace@example.com")
    # Whoever knows the password signs in, as often as they like.
    for _ in range(2):
        assert (
            client.post("/auth/token", json={"email": "grace@example.com", "password": STRONG_PASSWORD}).status_code
            == 200
        )

    confirm = {**link, "new_password": "the owner's new passphrase"}
    assert client.post("/auth/password/reset/confirm", json=confirm).status_code == 200
    # The link still works once.
    assert_problem(client.post("/auth/password/reset/confirm", json=confirm), 400, "link_invalid")


def test_a_trusted_device_has_a_failure_budget_of_its_own(client, owner, one_window):
    device_token = client.post("/auth/token", json={"email": "grace@example.com", "password": STRONG_PASSWORD}).json()[
        "device_token"
    ]
    body = {"email": "grace@example.com", "password": "a wrong guess", "device_token": device_token}

    statuses = [client.post("/auth/token", json=body).status_code for _ in range(11)]

    assert statuses == [401] * 10 + [429]


# --- 6. an IPv6 client is one client per /64 ------------------------------------------------------


def reset_from(ip: str, n: int):
    return Client(REMOTE_ADDR=ip).post(
        "/api/auth/password/reset", json.dumps({"email": f"user{n}@example.com"}), content_type="application/json"
    )


def test_forty_resets_from_forty_addresses_of_one_ipv6_64_are_limited_as_one_client(db, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "password": "30/min"}

    statuses = [reset_from(f"2001:db8:1:2::{n:x}", n).status_code for n in range(40)]

    assert statuses[:30] == [202] * 30
    assert set(statuses[30:]) == {429}
    assert reset_from("2001:db8:1:3::1", 99).status_code == 202  # another /64, another client


def test_the_ipv6_prefix_is_configurable(db, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "password": "2/min"}
    settings.API_THROTTLE_IPV6_PREFIX = 48

    statuses = [reset_from(f"2001:db8:1:{n:x}::1", n).status_code for n in range(3)]

    assert statuses == [202, 202, 429]


# --- 8. a failed sign-in names its target, as a keyed hash ------------------------------------------


def test_failed_sign_ins_from_many_ips_show_one_target_and_never_the_address(owner, logs):  # noqa: F811
    for n, spelling in enumerate(("grace@example.com", "GRACE@Example.com", "grace@example.com")):
        guess(spelling, f"192.0.2.{n}")
    guess("nobody@example.com", "192.0.2.9")

    failures = [event for event in logs.events() if event["outcome"] == "credentials_invalid"]
    targets = [event["target"] for event in failures]
    assert targets[:3] == [email_target("grace@example.com")] * 3
    assert targets[3] == email_target("nobody@example.com") != targets[0]
    assert "grace@example.com" not in logs.text().lower()
    # Keyed: another SECRET_KEY, another hash; a list of addresses hashed without it matches nothing.
    import hashlib

    assert targets[0] not in {hashlib.sha256(b"grace@example.com").hexdigest()[:32]}


# --- 7. emails leave through the queue, after the answer ------------------------------------------


@pytest.fixture
def queued(settings):
    """The production backend: tasks wait in the database for `manage.py db_worker`.

    The tests that use it commit for real (transaction=True): the worker closes the database
    connections when it is done, as a process of its own would.
    """
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker() -> None:
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def waiting_tasks() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().count()


@pytest.mark.django_db(transaction=True)
def test_reset_and_resend_send_no_email_inside_the_request_whether_or_not_the_address_has_one(client, owner, queued):
    User.objects.create_user(email="waiting@example.com", password=STRONG_PASSWORD)
    requests = [
        ("/auth/password/reset", "grace@example.com"),
        ("/auth/password/reset", "nobody@example.com"),
        ("/auth/email/verify/resend", "waiting@example.com"),
        ("/auth/email/verify/resend", "nobody@example.com"),
    ]
    for path, address in requests:
        assert client.post(path, json={"email": address}).status_code == 202

    # The same work for every address: one task each, and nothing sent yet.
    assert not mail.outbox
    assert waiting_tasks() == 4

    run_worker()

    assert sorted(message.to[0] for message in mail.outbox) == ["grace@example.com", "waiting@example.com"]
    assert waiting_tasks() == 0


@pytest.mark.django_db(transaction=True)
def test_the_queue_holds_no_live_link(client, owner, queued):
    from django_tasks_db.models import DBTaskResult

    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    run_worker()

    (row,) = DBTaskResult.objects.all()
    assert last_link_to("grace@example.com")["token"] not in json.dumps(row.args_kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_down_is_logged_and_retried_with_backoff_and_readiness_shows_the_wait(
    client, owner, queued, settings, caplog
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.conftest import closed_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2

    assert client.post("/auth/password/reset", json={"email": "grace@example.com"}).status_code == 202
    assert client.get("/health/ready").json()["tasks"]["oldest_unsent_age_s"] >= 0
    run_worker()

    assert "Could not send the reset_password email" in caplog.text
    assert "grace@example.com" not in caplog.text
    assert waiting_tasks() == 0  # the retry waits its delay
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert waiting_tasks() == 1
        assert client.get("/health/ready").json()["tasks"]["oldest_unsent_age_s"] >= 30
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        run_worker()
    assert [message.to for message in mail.outbox] == [["grace@example.com"]]
    assert client.get("/health/ready").json()["tasks"]["oldest_unsent_age_s"] is None


def test_a_misconfigured_mail_backend_is_never_a_500(client, settings):
    settings.EMAIL_BACKEND = "nowhere.EmailBackend"

    response = client.post("/auth/register", json={"email": "grace@example.com", "password": STRONG_PASSWORD})

    assert response.status_code == 202
    assert User.objects.filter(email="grace@example.com").exists()


# --- 9. the emailed links' pages are https in production ------------------------------------------


def test_link_pages_must_be_https_with_debug_off_and_password_sign_in_on(settings):
    from django.core.checks import run_checks

    def errors() -> list[str]:
        return [message.msg for message in run_checks() if message.id == "accounts.E004"]

    settings.ACCOUNTS_VERIFY_EMAIL_URL = "http://127.0.0.1:8000/auth/verify-email#uid={uid}&token={token}"
    settings.ACCOUNTS_RESET_PASSWORD_URL = "http://app.example.com/auth/reset-password#uid={uid}&token={token}"
    (verify, reset) = errors()
    assert verify.startswith("ACCOUNTS_VERIFY_EMAIL_URL=")
    assert reset.startswith("ACCOUNTS_RESET_PASSWORD_URL=")

    settings.AUTH_PASSWORD_LOGIN = False
    assert errors() == []
    settings.AUTH_PASSWORD_LOGIN = True
    settings.DEBUG = True
    assert errors() == []


def test_code_and_email_change_pages_must_be_https_with_debug_off_even_without_passwords(settings):
    """An emailed code, or an email change's link, sent to a plain-http page or the development server's."""
    from django.core.checks import run_checks

    def refused() -> list[str]:
        return [message.msg.partition("=")[0] for message in run_checks() if message.id == "accounts.E008"]

    assert refused() == []
    settings.AUTH_PASSWORD_LOGIN = False
    settings.ACCOUNTS_EMAIL_CODE_URL = "http://127.0.0.1:8000/#email={email}&code={code}"
    settings.ACCOUNTS_EMAIL_CHANGE_URL = "http://app.example.com/auth/email-change#uid={uid}&token={token}"
    settings.ACCOUNTS_EMAIL_CHANGE_CANCEL_URL = "app.example.com/auth/email-change-cancel#uid={uid}&token={token}"
    assert refused() == ["ACCOUNTS_EMAIL_CODE_URL", "ACCOUNTS_EMAIL_CHANGE_URL", "ACCOUNTS_EMAIL_CHANGE_CANCEL_URL"]
    settings.DEBUG = True
    assert refused() == []
