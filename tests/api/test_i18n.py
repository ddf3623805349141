"""English and Korean (docs/i18n.md): the request's language for problems, the user's for emails.

Through Django's client, so that LocaleMiddleware and every other middleware are in the loop, as in production.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.models import User
from tests import social_mocks as mocks
from tests.accounts_helpers import STRONG_PASSWORD
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

HANGUL = re.compile("[가-힣]")


def send(
    method: str,
    path: str,
    language: str | None,
    body: object = None,
    content_type: str = "application/json",
    **headers: str,
):
    """A request through every middleware; `language` as Accept-Language (None: no header)."""
    if language is not None:
        headers["Accept-Language"] = language
    data = {} if body is None else {"data": body, "content_type": content_type}
    return getattr(Client(), method)(f"/api{path}", headers=headers, **data)


def machine_readable(problem: dict) -> dict:
    """All of a problem but its words for people: title, detail, each field error's msg and a value error's text."""
    errors = [
        {key: value for key, value in error.items() if key != "msg" and not (key == "ctx" and "error" in value)}
        for error in problem.get("errors", [])
    ]
    return {key: value for key, value in problem.items() if key not in {"title", "detail"}} | {"errors": errors}


def assert_same_problem_in_both(english, korean, status: int, code: str) -> dict:
    """The two answers differ in words for people only, the Korean ones being Korean; the Korean body."""
    for response, language in ((english, "en"), (korean, "ko")):
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response["Content-Language"] == language
        assert "Accept-Language" in response["Vary"]
    en, ko = english.json(), korean.json()
    assert en["code"] == ko["code"] == code
    assert machine_readable(en) == machine_readable(ko)
    assert not HANGUL.search(en["title"] + en["detail"])
    assert HANGUL.search(ko["title"]), ko
    assert HANGUL.search(ko["detail"]), ko
    return ko


def both(method: str, path: str, body: object = None, **headers: str):
    return send(method, path, "en", body, **headers), send(method, path, "ko-KR,ko;q=0.9,en;q=0.5", body, **headers)


# --- problems: a sample of every class, the same code in both languages ----------------------------


def test_401_without_a_token(db):
    ko = assert_same_problem_in_both(*both("get", "/users/me"), 401, "not_authenticated")
    assert ko["title"] == "인증이 필요합니다"


def test_401_for_a_bad_token_keeps_the_challenge_in_ascii_english(db):
    english, korean = both("get", "/users/me", Authorization="Bearer not.a.token")
    assert_same_problem_in_both(english, korean, 401, "token_invalid")
    # RFC 6750 §3: error_description is printable ASCII; the header is the same in both languages.
    assert korean["WWW-Authenticate"] == english["WWW-Authenticate"]
    assert 'error_description="The token is not valid"' in korean["WWW-Authenticate"]


def test_403_for_an_unverified_address(db):
    User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD)
    body = {"email": "grace@example.com", "password": STRONG_PASSWORD}
    ko = assert_same_problem_in_both(*both("post", "/auth/token", body), 403, "email_unverified")
    assert ko["title"] == "아직 이메일 주소가 확인되지 않았습니다"


def test_404_for_an_unknown_url_and_for_another_users_session(pair):
    assert_same_problem_in_both(*both("get", "/nowhere"), 404, "not_found")
    assert_same_problem_in_both(
        *both("delete", "/auth/sessions/00000000-0000-0000-0000-000000000000", **bearer(pair.access)),
        404,
        "session_not_found",
    )


def test_405_keeps_its_allow_header(db):
    english, korean = both("get", "/auth/token/refresh")
    assert_same_problem_in_both(english, korean, 405, "method_not_allowed")
    assert korean["Allow"] == english["Allow"]


def test_415_for_a_body_that_is_not_json(db):
    english, korean = both("post", "/auth/token/verify", "token=x", content_type="text/plain")
    assert_same_problem_in_both(english, korean, 415, "unsupported_media_type")


def test_422_with_field_errors_translates_their_msg_and_keeps_the_rest(db):
    body = {"email": "a@example.com", "password": "", "display_name": "a\u202eb"}
    english, korean = both("post", "/auth/register", body)
    ko = assert_same_problem_in_both(english, korean, 422, "validation_error")
    assert ko["title"] == "요청이 올바르지 않습니다"
    assert [(error["loc"][-1], error["msg"]) for error in ko["errors"]] == [
        ("password", "1자 이상이어야 합니다"),
        ("display_name", "값 오류: 제어 문자를 포함할 수 없습니다"),
    ]
    # English keeps pydantic's own words.
    assert [error["msg"] for error in english.json()["errors"]] == [
        "String should have at least 1 character",
        "Value error, must not contain control characters",
    ]


def test_a_missing_field_in_korean(db):
    response = send("post", "/auth/register", "ko", {"email": "a@example.com"})
    assert [(error["type"], error["msg"]) for error in response.json()["errors"]] == [("missing", "필수 항목입니다")]


def test_429_when_a_throttle_refuses(db, settings):
    settings.API_THROTTLE_RATES = {"sign_in": "1/min", "tokens": "1/min", "session": "1/min"}
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        send("post", "/auth/token/verify", None, {"token": "x"})
        english, korean = both("post", "/auth/token/verify", {"token": "x"})
    assert_same_problem_in_both(english, korean, 429, "throttled")
    assert korean["Retry-After"] == english["Retry-After"]


def test_503_when_the_cache_is_down(pair, cache_down):
    english, korean = both("get", "/auth/whoami", **bearer(pair.access))
    ko = assert_same_problem_in_both(english, korean, 503, "service_unavailable")
    assert ko["detail"] == "캐시에 연결할 수 없습니다. 잠시 후 다시 시도하세요."


# --- the language of an answer ------------------------------------------------------------------


@pytest.mark.parametrize("asked", [None, "fr", "zh-CN,de;q=0.5", "*"])
def test_english_by_default_and_for_languages_this_server_lacks(db, asked):
    response = send("get", "/users/me", asked)
    assert response["Content-Language"] == "en"
    assert response.json()["title"] == "Authentication required"


def test_a_successful_answer_carries_the_headers_too(pair):
    response = send("get", "/users/me", "ko", **bearer(pair.access))
    assert response.status_code == 200
    assert response["Content-Language"] == "ko"
    assert "Accept-Language" in response["Vary"]


def test_an_accepted_answers_detail_is_translated(db):
    response = send("post", "/auth/password/reset", "ko", {"email": "nobody@example.com"})
    assert response.status_code == 202
    assert response.json()["detail"] == "이 주소로 가입된 계정이 있다면 비밀번호 재설정 링크를 보내 드립니다."


# --- a user's language: sign-up, PATCH /users/me, emails -------------------------------------------


def register(asked: str | None, **body: str):
    return send("post", "/auth/register", asked, {"email": "grace@example.com", "password": STRONG_PASSWORD, **body})


def test_sign_up_remembers_the_requests_language_and_emails_in_it(db):
    assert register("ko-KR,ko;q=0.9").status_code == 202

    assert User.objects.get().language == "ko"
    (message,) = mail.outbox
    assert message.subject == "이메일 주소를 확인해 주세요"
    assert message.body.startswith("안녕하세요.")
    assert "https://app.example.test/auth/verify-email#uid=" in message.body


def test_the_language_cookie_of_the_page_wins_over_accept_language(db):
    client = Client(headers={"Accept-Language": "en"})
    client.cookies["django_language"] = "ko"
    body = {"email": "grace@example.com", "password": STRONG_PASSWORD}

    response = client.post("/api/auth/register", body, content_type="application/json")

    assert response["Content-Language"] == "ko"
    assert User.objects.get().language == "ko"


def test_an_explicit_language_wins_over_accept_language(db):
    assert register("ko", language="en").status_code == 202

    assert User.objects.get().language == "en"
    assert mail.outbox[0].subject == "Confirm your email address"


def test_a_sign_up_that_asks_for_no_language_leaves_it_unknown_and_emails_in_english(db):
    assert register(None).status_code == 202

    assert User.objects.get().language == ""
    assert mail.outbox[0].subject == "Confirm your email address"


def test_a_language_this_server_lacks_is_a_422(db):
    response = register("ko", language="fr")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "body", "language"]
    assert not User.objects.exists()


def test_an_email_goes_in_the_users_language_not_the_requests(db):
    User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, language="en")

    assert register("ko").status_code == 202  # someone tries to sign up with a taken address, in Korean

    (message,) = mail.outbox
    assert message.subject == "Someone tried to sign up with your email address"
    assert User.objects.get().language == "en"  # a sign-up never changes an existing account


def test_patch_me_changes_the_language_and_the_display_name_and_get_me_shows_them(user, pair):
    response = send("patch", "/users/me", None, {"language": "ko", "display_name": "에이다"}, **bearer(pair.access))

    assert response.status_code == 200, response.content
    assert (response.json()["language"], response.json()["display_name"]) == ("ko", "에이다")
    me = send("get", "/users/me", None, **bearer(pair.access)).json()
    assert (me["language"], me["display_name"]) == ("ko", "에이다")

    send("post", "/auth/password/reset", "en", {"email": user.email})
    assert mail.outbox[-1].subject == "비밀번호 재설정 안내"


def test_patch_me_changes_only_what_it_is_sent(user, pair):
    user.language = "ko"
    user.save()

    response = send("patch", "/users/me", None, {"display_name": "Ada L."}, **bearer(pair.access))

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.language, user.display_name) == ("ko", "Ada L.")


@pytest.mark.parametrize(
    "body",
    [{"language": "fr"}, {"language": "k" * 17}, {"display_name": "x" * 151}, {"display_name": "a\u202eb"}, []],
)
def test_patch_me_refuses_what_is_not_valid(user, pair, body):
    response = send("patch", "/users/me", "ko", body, **bearer(pair.access))

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"
    user.refresh_from_db()
    assert (user.language, user.display_name) == ("", "Ada")


def test_patch_me_with_an_empty_language_forgets_it(user, pair):
    user.language = "ko"
    user.save()

    assert send("patch", "/users/me", None, {"language": ""}, **bearer(pair.access)).status_code == 200

    user.refresh_from_db()
    assert user.language == ""


def test_patch_me_needs_a_token(db):
    assert send("patch", "/users/me", None, {"language": "ko"}).status_code == 401


def test_the_first_social_sign_in_remembers_the_language_and_later_ones_do_not_change_it(client, social, rsps):
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    response = mocks.callback(client, "kakao", state=state, **{"Accept-Language": "ko-KR,ko;q=0.9"})
    assert response.status_code == 200, response.json()
    assert response.json()["user"]["language"] == "ko"

    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    assert mocks.callback(client, "kakao", state=state, **{"Accept-Language": "en"}).status_code == 200
    assert User.objects.get().language == "ko"
