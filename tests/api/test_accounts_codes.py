"""Sign-in by emailed code (POST /api/auth/email/code and /confirm) through the real `api`."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import EmailCode
from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD, outbox_to
from tests.api.test_accounts_api import register, sign_in
from tests.api.test_events import logs  # noqa: F401 (a fixture)
from tests.api.test_refresh_cookie import COOKIE, CSRF, cookie_mode  # noqa: F401 (a fixture)
from tests.api.test_review_attacks import form_post, queued, run_worker, waiting_tasks  # noqa: F401 (a fixture)
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tokens.models import Session

pytestmark = pytest.mark.django_db

_CODE = re.compile(r"Your sign-in code is ([A-Z0-9]{6})\.")


def code_request(client, email: str = "grace@example.com"):
    return client.post("/auth/email/code", json={"email": email})


def code_to(address: str) -> str:
    """The code of the newest code email to the address."""
    (code,) = _CODE.findall(outbox_to(address)[-1].body)
    return code


def confirm(client, code: str, email: str = "grace@example.com", **extra):
    return client.post("/auth/email/code/confirm", json={"email": email, "code": code, **extra})


def wrong(code: str) -> str:
    """Another code of the same alphabet."""
    return ("A" if code[0] != "A" else "B") + code[1:]


@pytest.fixture
def grace(db) -> User:
    return User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, email_verified=True)


@pytest.fixture
def one_window():
    """Counts start afresh at each window (aligned to the clock): keep the test inside one."""
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1), tick=False):
        yield


def test_a_code_signs_in_and_answers_a_working_pair_and_a_device_token(client, grace):
    assert code_request(client).status_code == 202
    (email,) = mail.outbox
    code = code_to("grace@example.com")
    # The link fills the sign-in page in; the address is in it, encoded.
    assert f"#email=grace%40example.com&code={code}" in email.body

    response = confirm(client, code)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["device_token"]
    assert body["refresh"]
    assert client.get("/users/me", headers=bearer(body["access"])).json()["email"] == "grace@example.com"


def test_the_code_is_typed_in_any_case_with_spaces(client, grace):
    code_request(client)
    code = code_to("grace@example.com")
    assert confirm(client, f" {code[:3].lower()} {code[3:]}").status_code == 200


def test_a_code_works_once(client, grace):
    code_request(client)
    code = code_to("grace@example.com")
    assert confirm(client, code).status_code == 200
    assert_problem(confirm(client, code), 401, "email_code_invalid")


def test_a_code_expires_after_the_ttl(client, grace, settings):
    settings.ACCOUNTS_EMAIL_CODE_TTL = 600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        code_request(client)
    first = code_to("grace@example.com")
    with time_machine.travel(start + timedelta(seconds=599), tick=False):
        assert confirm(client, first).status_code == 200

    with time_machine.travel(start + timedelta(hours=1), tick=False):
        code_request(client)
    second = code_to("grace@example.com")
    with time_machine.travel(start + timedelta(hours=1, seconds=601), tick=False):
        assert_problem(confirm(client, second), 401, "email_code_invalid")
    # Expired codes are deleted as the next one is made; the table holds only live codes.
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        code_request(client, "ada@example.com")
    assert list(EmailCode.objects.values_list("address", flat=True)) == ["ada@example.com"]


def test_a_code_is_dead_after_five_tries_even_the_right_one_after(client, grace, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "email_code_failures": ""}
    code_request(client)
    code = code_to("grace@example.com")
    for _ in range(5):
        assert_problem(confirm(client, wrong(code)), 401, "email_code_invalid")
    assert_problem(confirm(client, code), 401, "email_code_invalid")


def test_the_fifth_try_may_be_the_right_one(client, grace, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "email_code_failures": ""}
    code_request(client)
    code = code_to("grace@example.com")
    for _ in range(4):
        confirm(client, wrong(code))
    assert confirm(client, code).status_code == 200


def test_a_new_code_replaces_the_last_one(client, grace):
    code_request(client)
    first = code_to("grace@example.com")
    code_request(client)
    second = code_to("grace@example.com")
    if first != second:  # one chance in 31**6 that they are equal
        assert_problem(confirm(client, first), 401, "email_code_invalid")
    assert confirm(client, second).status_code == 200


def test_wrong_codes_are_limited_per_address_across_new_codes(client, grace, settings, one_window):
    """Asking for a new code resets its tries, not the address's failures: no more guesses for more codes."""
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "email_code_failures": "6/min"}
    code_request(client)
    for _ in range(5):
        confirm(client, wrong(code_to("grace@example.com")))
    code_request(client)
    code = code_to("grace@example.com")
    assert_problem(confirm(client, wrong(code), email="GRACE@example.com"), 401, "email_code_invalid")
    assert_problem(confirm(client, code), 429, "throttled")
    # Another address has its own budget.
    assert_problem(confirm(client, "AAAAAA", email="ada@example.com"), 401, "email_code_invalid")


def test_code_requests_are_limited_per_address_whatever_the_spelling(client, grace, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "email_code_email": "2/min"}
    statuses = [code_request(client, email).status_code for email in ("grace@example.com", "GRACE@example.com")]
    assert statuses == [202, 202]
    assert_problem(code_request(client, "grace@EXAMPLE.com"), 429, "throttled")
    assert len(mail.outbox) == 2
    assert code_request(client, "ada@example.com").status_code == 202


@pytest.mark.django_db(transaction=True)
def test_the_same_answer_for_every_address_and_no_email_inside_the_request(client, queued, settings):  # noqa: F811
    settings.ACCOUNTS_EMAIL_CODE_SIGNUP = False
    User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, email_verified=True)
    User.objects.create_user(email="off@example.com", email_verified=True, is_active=False)

    answers, queries = [], []
    for address in ("grace@example.com", "nobody@example.com", "off@example.com"):
        with CaptureQueriesContext(connection) as captured:
            answers.append(code_request(client, address))
        queries.append([query["sql"].split(" ")[0] for query in captured.captured_queries])

    # The same statements for every address: the request writes one task and reads no user.
    assert "INSERT" in queries[0]
    assert queries[0] == queries[1] == queries[2]
    assert not any("core_user" in query["sql"] for query in captured.captured_queries)

    assert {(answer.status_code, json.dumps(answer.json())) for answer in answers} == {
        (202, json.dumps({"detail": "If the address can sign in, a code is on its way."}))
    }
    # One task each, nothing sent and no code made yet: the worker decides.
    assert not mail.outbox
    assert waiting_tasks() == 3
    assert not EmailCode.objects.exists()

    run_worker()

    assert [message.to for message in mail.outbox] == [["grace@example.com"]]
    # The queue's rows hold the address, never the code; the code's row holds a hash of it.
    from django_tasks_db.models import DBTaskResult

    code = code_to("grace@example.com")
    assert not any(code in json.dumps(row.args_kwargs) for row in DBTaskResult.objects.all())
    assert code not in EmailCode.objects.get().code_hash


def test_sign_up_on_makes_a_verified_account_without_a_password(client, db, settings):
    settings.ACCOUNTS_EMAIL_CODE_SIGNUP = True
    code_request(client, "new@example.com")

    response = confirm(client, code_to("new@example.com"), email="new@example.com")

    assert response.status_code == 200
    user = User.objects.get(email="new@example.com")
    assert user.email_verified
    assert not user.has_usable_password()
    # The account's first sign-in is no news: the code email is the only one.
    assert len(outbox_to("new@example.com")) == 1


def test_a_new_address_gets_its_code_and_its_account_in_the_language_the_request_asked_for(client, db):
    client.post("/auth/email/code", json={"email": "new@example.com"}, headers={"Accept-Language": "ko"})
    (email,) = outbox_to("new@example.com")
    assert email.subject == "로그인 코드"  # not the English "Your sign-in code"
    (code,) = re.findall(r"로그인 코드는 ([A-Z0-9]{6})입니다", email.body)

    response = client.post(
        "/auth/email/code/confirm",
        json={"email": "new@example.com", "code": code},
        headers={"Accept-Language": "ko"},
    )

    assert response.status_code == 200
    assert User.objects.get(email="new@example.com").language == "ko"


def test_sign_up_off_sends_nothing_and_makes_no_account(client, db, settings):
    settings.ACCOUNTS_EMAIL_CODE_SIGNUP = False
    assert code_request(client, "new@example.com").status_code == 202
    assert not mail.outbox
    assert_problem(confirm(client, "AAAAAA", email="new@example.com"), 401, "email_code_invalid")
    assert not User.objects.exists()


def test_the_code_proves_the_address_and_kills_a_password_set_before_verification(client, db):
    """The attacker signs the victim's address up with a password; the victim signs in by code."""
    register(client, "victim@example.com", password="the attacker's passphrase", display_name="Attacker")

    code_request(client, "victim@example.com")
    response = confirm(client, code_to("victim@example.com"), email="victim@example.com")

    assert response.status_code == 200
    user = User.objects.get()
    assert user.email_verified
    assert not user.has_usable_password()
    assert user.display_name == ""
    assert_problem(sign_in(client, "victim@example.com", "the attacker's passphrase"), 401, "credentials_invalid")
    assert Session.objects.filter(ended_at__isnull=True).count() == 1  # the victim's own


def test_a_verified_accounts_password_stays(client, grace):
    code_request(client)
    confirm(client, code_to("grace@example.com"))
    assert sign_in(client).status_code == 200


def test_a_disabled_account_gets_no_code(client, grace):
    User.objects.filter(pk=grace.pk).update(is_active=False)
    assert code_request(client).status_code == 202
    assert not mail.outbox


def test_a_foreign_form_cannot_sign_in_with_a_code_in_cookie_mode(cookie_mode, client, grace):  # noqa: F811
    code_request(client)
    code = code_to("grace@example.com")

    forged = form_post("/email/code/confirm", {"email": "grace@example.com", "code": code}, "text/plain")

    assert_problem(forged, 403, "csrf_failed")
    assert COOKIE not in forged.cookies
    # Refused before the code was looked at: it still works from the API's own page.
    own = Client().post(
        "/api/auth/email/code/confirm",
        json.dumps({"email": "grace@example.com", "code": code}),
        content_type="application/json",
        **CSRF,
    )
    assert own.status_code == 200, own.content
    assert own.cookies[COOKIE].value
    assert own.json()["refresh"] is None


def test_the_code_is_never_logged(client, grace, logs):  # noqa: F811
    code_request(client)
    code = code_to("grace@example.com")
    confirm(client, wrong(code))
    confirm(client, code)
    events = [event for event in logs.events() if event["event"] == "sign_in"]
    assert [event["outcome"] for event in events] == ["email_code_invalid", "success"]
    assert code not in logs.text()


def test_the_start_up_checks_name_a_bad_code_or_email_change_setting(settings):
    from django.core.checks import run_checks

    def errors() -> list[str]:
        return sorted(
            message.id for message in run_checks() if message.id in {"accounts.E005", "accounts.E006", "accounts.E007"}
        )

    assert errors() == []
    settings.ACCOUNTS_EMAIL_CODE_URL = "https://app.example.com/sign-in#code={code}"
    settings.ACCOUNTS_EMAIL_CHANGE_CANCEL_URL = "https://app.example.com/cancel#uid={uid}"
    settings.ACCOUNTS_EMAIL_CODE_TTL = 0
    assert errors() == ["accounts.E005", "accounts.E006", "accounts.E007"]


@pytest.mark.parametrize("email", ["grace@example.com\u0000", "not an address"])
def test_a_confirm_for_what_is_not_an_address_is_the_one_refusal_and_creates_nothing(client, db, email):
    """A NUL in it answered 500 on PostgreSQL, which refuses one in a text field (found by the attacker)."""
    assert_problem(confirm(client, "K7PQ2M", email=email), 401, "email_code_invalid")
    assert not User.objects.exists()
