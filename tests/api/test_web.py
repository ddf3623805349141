"""The sign-in page's headers and markup, and what /api/docs needs to work offline."""

from html.parser import HTMLParser

import pytest
from django.test import Client


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

    assert [script["type"] for script in scripts] == ["module"]
    assert all(script.get("src") for script in scripts)


def test_the_callback_page_sends_no_referrer(http):
    response = http.get("/auth/callback/dev?code=secret-code&state=s")

    assert response["Referrer-Policy"] == "no-referrer"
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
