"""Rate limits per client IP on the endpoints anyone can call."""

import pytest

from tests.api.test_token_api import assert_problem


@pytest.fixture
def low_limits(settings):
    settings.API_THROTTLE_RATES = {"sign_in": "2/min", "tokens": "2/min"}


def test_refresh_is_limited_per_client_with_a_429_problem_and_retry_after(client, pair, low_limits):
    for _ in range(2):
        assert client.post("/auth/token/verify", json={"token": pair.access}).status_code == 200
    response = client.post("/auth/token/verify", json={"token": pair.access})
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Another client address has its own budget.
    other = client.post("/auth/token/verify", json={"token": pair.access}, META={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200


def test_social_authorize_is_limited(client, db, settings, low_limits):
    settings.SOCIAL_REDIRECT_URIS = ["http://127.0.0.1:8000/auth/callback/kakao"]
    settings.SOCIAL_KAKAO_CLIENT_ID = "kakao-rest-api-key"
    body = {"redirect_uri": "http://127.0.0.1:8000/auth/callback/kakao"}
    statuses = [client.post("/auth/social/kakao/authorize", json=body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_an_empty_rate_turns_the_limit_off(client, pair, settings):
    settings.API_THROTTLE_RATES = {"sign_in": "", "tokens": ""}
    assert all(client.post("/auth/token/verify", json={"token": pair.access}).status_code == 200 for _ in range(150))


def test_default_limits_leave_room_for_normal_use(client, pair):
    assert all(client.post("/auth/token/verify", json={"token": pair.access}).status_code == 200 for _ in range(20))
