"""Django's session, auth and messages middleware serve the browser site, not the API (core.middleware)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/health/live", "/.well-known/jwks.json"])
def test_api_requests_get_no_session_user_or_messages(path):
    response = Client().get(path, HTTP_COOKIE="sessionid=anything")

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert "Cookie" not in response.get("Vary", "")


def test_the_admin_still_has_them(admin_user):
    client = Client()
    client.force_login(admin_user)

    response = client.get("/admin/")

    assert response.status_code == 200
    request = response.wsgi_request
    assert request.user == admin_user
    assert request.session.session_key
    assert hasattr(request, "_messages")


def test_api_security_headers_are_unchanged():
    response = Client().get("/api/health/live")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Length"] == str(len(response.content))
