"""The database bulkhead (core/bulkhead.py) through the whole stack: Django's client runs the middleware.

The permits other requests would hold are taken here by hand, so the test decides how full
the bulkhead is; a real hung database under load is tests/faults/test_serving.py's.
"""

from collections.abc import Iterator

import pytest
from django.test import Client

from core.bulkhead import database_bulkhead
from core.models import User
from tests.conftest import bearer


@pytest.fixture
def full(settings) -> Iterator[None]:
    """A bulkhead of one permit, held by another request."""
    settings.DATABASE_REQUEST_CONCURRENCY = 1
    assert database_bulkhead.try_acquire()
    yield
    database_bulkhead.release()


def headers(pair) -> dict[str, str]:
    return {"headers": bearer(pair.access)}


def test_a_database_request_beyond_the_bulkhead_is_a_503_at_once(full, pair, django_assert_num_queries):
    with django_assert_num_queries(0):  # refused before its first query
        response = Client().get("/api/users/me", **headers(pair))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert (body["code"], body["dependency"]) == ("service_unavailable", "database")


def test_refresh_beyond_the_bulkhead_is_a_503_and_the_token_stays_usable(full, pair):
    response = Client().post("/api/auth/token/refresh", {"refresh": pair.refresh}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    database_bulkhead.release()  # the other request ends
    try:
        again = Client().post("/api/auth/token/refresh", {"refresh": pair.refresh}, content_type="application/json")
    finally:
        assert database_bulkhead.try_acquire()  # as the fixture expects to find it
    assert again.status_code == 200, again.json()


def test_whoami_verify_and_liveness_answer_with_the_bulkhead_full(full, pair):
    client = Client()
    assert client.get("/api/auth/whoami", **headers(pair)).status_code == 200
    verify = client.post("/api/auth/token/verify", {"token": pair.access}, content_type="application/json")
    assert verify.status_code == 200
    assert client.get("/api/health/live").status_code == 200


def test_each_request_gives_its_permit_back_answered_or_refused(settings, pair):
    settings.DATABASE_REQUEST_CONCURRENCY = 1
    client = Client()
    for _ in range(3):  # one permit, used by one request after another
        assert client.get("/api/users/me", **headers(pair)).status_code == 200
    unknown = client.delete("/api/auth/sessions/00000000-0000-0000-0000-000000000000", **headers(pair))
    assert unknown.status_code == 404  # an error after its queries gives the permit back too
    assert database_bulkhead.in_use == 0
    assert database_bulkhead.try_acquire()
    try:
        assert client.get("/api/users/me", **headers(pair)).status_code == 503
    finally:
        database_bulkhead.release()
    assert database_bulkhead.in_use == 0


def test_readiness_reports_the_database_unavailable_while_the_bulkhead_is_full(full, db):
    response = Client().get("/api/health/ready")
    assert response.status_code == 503
    assert (response.json()["database"]["status"], response.json()["cache"]["status"]) == ("unavailable", "ok")


def test_database_work_outside_a_request_is_not_bounded(full, user):
    # Management commands, start-up and the denylist mirror's thread query outside any request.
    assert User.objects.filter(pk=user.pk).exists()


def test_a_page_outside_the_api_beyond_the_bulkhead_is_a_503_problem_too(full, db, settings):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32  # the admin reads the session: a query
    response = client.get("/admin/")
    assert response.status_code == 503
    assert (response["Content-Type"], response.json()["code"]) == ("application/problem+json", "service_unavailable")
