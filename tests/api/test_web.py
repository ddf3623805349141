"""The sign-in page's headers and markup, and what /api/docs needs to work offline."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from core.cookies import HOST_PREFIX
from tokens.transport import REFRESH_COOKIE


class ScriptTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))


def scripts_of(html: bytes) -> list[dict[str, str | None]]:
    parser = ScriptTags()
    parser.feed(html.decode())
    return parser.scripts


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.fixture
def http() -> Client:
    return Client()


@pytest.mark.parametrize("path", ["/", "/auth/callback/dev"])
def test_the_pages_send_a_strict_content_security_policy(http, path):
    response = http.get(path)

    assert response.status_code == 200
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values)


@pytest.mark.parametrize("path", ["/", "/auth/callback/dev"])
def test_the_pages_load_one_module_and_no_inline_script(http, path):
    scripts = scripts_of(http.get(path).content)
    # The words of app.js travel as data (json_script), which no browser runs.
    executable = [script for script in scripts if script["type"] != "application/json"]

    assert [script["type"] for script in executable] == ["module"]
    assert all(script.get("src") for script in executable)
    assert [script["id"] for script in scripts if script not in executable] == ["page-strings"]


@pytest.mark.parametrize("path", ["/auth/callback/dev?code=secret-code&state=s", "/auth/verify-email"])
def test_the_pages_with_a_secret_in_their_url_send_at_most_the_origin_as_referrer(http, path):
    response = http.get(path)

    # Not no-referrer: the page's own form POSTs (the language switch) would carry `Origin: null`.
    assert response["Referrer-Policy"] == "strict-origin"
    assert response["Cache-Control"] == "no-store"


def test_the_sign_in_page_keeps_the_default_referrer_policy(http, settings):
    assert http.get("/")["Referrer-Policy"] == settings.SECURE_REFERRER_POLICY


def test_the_docs_page_serves_swagger_ui_from_this_server(http):
    response = http.get("/api/docs")

    assert response.status_code == 200
    sources = [script.get("src") or "" for script in scripts_of(response.content)]
    assert any(src.endswith("ninja/swagger-ui-bundle.js") for src in sources)
    assert all(src.startswith("/") for src in sources if src)


def test_the_openapi_document_declares_bearer_auth_and_problem_responses(http):
    schema = http.get("/api/openapi.json").json()

    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"} in [
        {key: scheme.get(key) for key in ("type", "scheme")} for scheme in schemes.values()
    ]
    protected = [
        operation
        for path in schema["paths"].values()
        for operation in path.values()
        if any(requirement for requirement in operation.get("security", []))
    ]
    assert protected
    for operation in protected:
        problem = operation["responses"]["401"]["content"]["application/problem+json"]["schema"]
        assert problem["$ref"].endswith("/ProblemOut")


def test_the_docs_link_back_to_the_sign_in_page(http):
    assert "](/)" in http.get("/api/openapi.json").json()["info"]["description"]


def page_strings(html: bytes) -> dict[str, str]:
    match = re.search(rb'<script id="page-strings" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("accept_language", "lang", "kakao"),
    [
        ("ko-KR,ko;q=0.9", "ko", "카카오 로그인"),
        ("en-US,en;q=0.9", "en", "Login with Kakao"),
        ("fr", "en", "Login with Kakao"),
    ],
)
def test_the_page_speaks_the_browsers_language(http, accept_language, lang, kakao):
    response = http.get("/", headers={"accept-language": accept_language})

    assert f'<html lang="{lang}"'.encode() in response.content
    assert response["Content-Language"] == lang
    assert "Accept-Language" in response["Vary"]
    assert page_strings(response.content)["sign_in_kakao"] == kakao


def test_the_dev_provider_speaks_korean_too(http, settings):
    settings.DEBUG = True
    settings.SOCIAL_DEV_PROVIDER = True
    response = http.get("/dev-idp/authorize?client_id=nobody", headers={"accept-language": "ko"})

    assert b'<html lang="ko">' in response.content
    assert "유효하지 않은 로그인 요청입니다" in response.content.decode()


def test_the_language_switch_needs_the_csrf_token_and_then_outranks_the_browser():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/", headers={"accept-language": "en"})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token

    refused = browser.post("/i18n/setlang/", {"language": "ko", "next": "/"})
    assert refused.status_code == 403

    switched = browser.post(
        "/i18n/setlang/", {"language": "ko", "next": "/", "csrfmiddlewaretoken": token.group(1).decode()}
    )
    assert switched.status_code == 302
    assert switched["Location"] == "/"
    assert b'<html lang="ko"' in browser.get("/", headers={"accept-language": "en"}).content


def test_a_signed_out_page_does_not_try_to_resume_a_session(http, settings):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    assert b"data-session-hint" not in http.get("/").content

    # Any value: whether it still holds a session is the refresh's to find out. The test client's host is
    # not loopback, so the cookie carries the __Host- prefix (core/cookies.py).
    http.cookies[HOST_PREFIX + REFRESH_COOKIE] = "a-refresh-token"
    assert b'data-session-hint="1"' in http.get("/").content


def test_in_body_mode_there_is_no_session_to_resume(http, settings):
    settings.JWT_REFRESH_TRANSPORT = "body"
    http.cookies[HOST_PREFIX + REFRESH_COOKIE] = "left-over"

    assert b"data-session-hint" not in http.get("/").content


def test_the_docs_page_fits_a_phone(http):
    content = http.get("/api/docs").content

    assert b'<meta name="viewport" content="width=device-width, initial-scale=1">' in content
    assert b'<html lang="en">' in content
    assert b'"deepLinking": false' in content
