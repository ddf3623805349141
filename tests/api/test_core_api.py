"""What core promises: health, problem bodies everywhere under /api/, checks, docs, commands, admin."""

import json
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command

from core.models import User
from tests.conftest import bearer
from tests.forge import claims_of
from tokens.models import Session


@pytest.mark.parametrize("path", ["/health/ready", "/health"])
def test_readiness_reports_each_dependency_with_its_latency(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    for dependency in ("database", "cache"):
        assert body[dependency]["status"] == "ok"
        assert body[dependency]["latency_ms"] >= 0


def test_readiness_is_a_503_problem_naming_the_cache_when_it_is_down(client, db, cache_down):
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response["Retry-After"]
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert (body["database"]["status"], body["cache"]["status"]) == ("ok", "unavailable")


def test_liveness_answers_with_the_cache_down(client, cache_down):
    assert client.get("/health/live").json() == {"status": "ok"}


def test_liveness_touches_nothing(client, django_assert_num_queries, db):
    with django_assert_num_queries(0):
        assert client.get("/health/live").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/health/live", "/api/health/ready", "/api/health", "/"])
def test_head_answers_wherever_get_does_on_the_probes_and_the_home_page(django_client, db, path):
    # Load balancers often probe with HEAD.
    get, head = django_client.get(path), django_client.head(path)
    assert (head.status_code, head["Content-Type"]) == (get.status_code, get["Content-Type"])
    assert get.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_url_is_a_problem_not_html(django_client, settings, debug):
    settings.DEBUG = debug
    response = django_client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_a_405_problem_with_allow(django_client, db):
    response = django_client.get("/api/auth/token/refresh")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_unexpected_error_is_a_500_problem_and_is_logged(client, db, monkeypatch, caplog):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr("core.api.readiness_check", broken)
    response = client.get("/health")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "boom" not in response.json()["detail"]
    assert "Unhandled error" in caplog.text


def test_full_stack_request_with_a_real_token(django_client, pair):
    response = django_client.get("/api/users/me", HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"


# --- system checks -----------------------------------------------------------------------


def check_ids(**kwargs) -> set[str]:
    return {message.id for message in run_checks(**kwargs)}


def test_default_secret_key_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    assert "core.E001" in check_ids()


def test_real_secret_key_passes_and_debug_allows_the_default(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "a-real-secret-" * 5
    assert "core.E001" not in check_ids()
    settings.DEBUG = True
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    assert "core.E001" not in check_ids()


def test_a_per_process_cache_with_debug_off_is_a_start_up_error_unless_one_process_is_declared(settings):
    settings.API_SINGLE_PROCESS = False
    for local_memory in ("core.cache.LocMemCache", "django.core.cache.backends.locmem.LocMemCache"):
        settings.CACHES = {"default": {"BACKEND": local_memory}}
        assert "core.E006" in check_ids()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    (error,) = [m for m in run_checks() if m.id == "core.E006"]
    assert "DummyCache" in error.msg
    assert "API_SINGLE_PROCESS" in error.hint

    settings.API_SINGLE_PROCESS = True
    assert "core.E006" not in check_ids()
    settings.API_SINGLE_PROCESS = False
    settings.DEBUG = True
    assert "core.E006" not in check_ids()
    settings.DEBUG = False
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}
    }
    assert "core.E006" not in check_ids()


# --- OpenAPI and docs --------------------------------------------------------------------


def test_openapi_lists_every_endpoint_with_the_bearer_scheme_and_problem_responses(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in [
        "/api/health",
        "/api/auth/whoami",
        "/api/users/me",
        "/api/auth/token/refresh",
        "/api/auth/token/verify",
        "/api/auth/logout",
        "/api/auth/logout-all",
        "/api/auth/sessions",
        "/api/auth/sessions/{session_id}",
    ]:
        assert path in paths, path
    assert schema["components"]["securitySchemes"]["JWTAuth"] == {"type": "http", "scheme": "bearer"}
    whoami = paths["/api/auth/whoami"]["get"]
    assert whoami["security"] == [{"JWTAuth": []}]
    problem = whoami["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert problem.endswith("/ProblemOut")


def test_docs_page_is_served(django_client):
    response = django_client.get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


# --- management commands and admin -------------------------------------------------------


def test_issue_tokens_prints_a_working_pair(client, db):
    out = StringIO()
    call_command("issue_tokens", "--email", "cli@example.com", "--create", stdout=out)
    pair = json.loads(out.getvalue())
    assert pair["token_type"] == "Bearer"
    response = client.get("/users/me", headers=bearer(pair["access"]))
    assert response.json()["email"] == "cli@example.com"


def test_issue_tokens_without_create_needs_an_existing_user(db):
    with pytest.raises(CommandError, match="--create"):
        call_command("issue_tokens", "--email", "nobody@example.com")


def test_issue_tokens_finds_the_user_case_insensitively(user):
    out = StringIO()
    call_command("issue_tokens", "--email", "ADA@example.com", stdout=out)
    assert claims_of(json.loads(out.getvalue())["access"])["sub"] == str(user.pk)


def test_flush_expired_tokens_reports_what_it_deleted(pair):
    out = StringIO()
    call_command("flush_expired_tokens", stdout=out)
    assert "Deleted 0 expired session(s), 0 expired refresh token(s) and 0 expired signing key(s)." in out.getvalue()


def test_admin_lists_sessions_and_can_end_them(admin_client, pair):
    session = Session.objects.get()
    assert admin_client.get("/admin/tokens/session/").status_code == 200
    assert admin_client.get(f"/admin/tokens/session/{session.pk}/change/").status_code == 200
    assert admin_client.get("/admin/tokens/refreshtoken/").status_code == 200
    response = admin_client.post(
        "/admin/tokens/session/", {"action": "end_sessions", "_selected_action": [str(session.pk)]}
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.end_reason == "admin"


def test_emails_are_unique_case_insensitively(user):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="ADA@example.com")
    # Several users without an email are fine (Kakao may not give one).
    User.objects.create_user()
    User.objects.create_user()
    assert User.objects.filter(email__isnull=True).count() == 2
