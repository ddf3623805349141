"""A provider that hangs or trickles, on a real loopback server: one deadline per sign-in, and a bulkhead.

In process, through Ninja's TestClient; the same through a real gunicorn is in
test_serving.py. The per-read timeout stays at 10 s while the provider sends something
more often than that, so only the deadline can end these requests.
"""

import threading

import pytest

from tests.faults.servers import SlowProvider
from tests.social_mocks import authorize, callback, kakao_token, kakao_user


@pytest.fixture
def limits(social):
    social.SOCIAL_HTTP_READ_TIMEOUT = 10
    social.SOCIAL_CALLBACK_DEADLINE = 1
    social.SOCIAL_CALLBACK_CONCURRENCY = 4
    # Several logins from one test client: the browser binding is not what these tests are about.
    social.SOCIAL_BIND_TO_BROWSER = False
    return social


def kakao_at(settings, provider: SlowProvider) -> None:
    settings.SOCIAL_KAKAO_TOKEN_URL = f"{provider.url}/oauth/token"
    settings.SOCIAL_KAKAO_USERINFO_URL = f"{provider.url}/v2/user/me"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    return body


def test_a_token_endpoint_that_trickles_a_byte_at_a_time_is_cut_at_the_deadline(client, db, limits):
    with SlowProvider("trickle", interval=0.5) as provider:
        kakao_at(limits, provider)
        state = authorize(client, "kakao")["state"]
        assert_problem(callback(client, "kakao", state=state), 504, "provider_timeout")


def test_the_deadline_spans_every_call_of_a_callback_not_each_one(client, db, limits):
    # The token endpoint and the user API each answer in about 1.5 s, under a 2 s deadline
    # one by one: only a deadline across both calls ends the callback.
    limits.SOCIAL_CALLBACK_DEADLINE = 2
    bodies = {"/oauth/token": kakao_token(), "/v2/user/me": kakao_user()}
    with SlowProvider("slow", interval=0.5, bodies=bodies) as provider:
        kakao_at(limits, provider)
        state = authorize(client, "kakao")["state"]
        assert_problem(callback(client, "kakao", state=state), 504, "provider_timeout")
        assert provider.paths == ["/oauth/token", "/v2/user/me"]


def test_a_hanging_discovery_document_makes_authorize_a_504(client, db, limits):
    with SlowProvider("hang") as provider:
        limits.SOCIAL_OIDC_PROVIDERS = {
            "slow": {"client_id": "slow-client", "discovery_url": f"{provider.url}/.well-known/openid-configuration"}
        }
        response = client.post("/auth/social/slow/authorize", json={"redirect_uri": limits.SOCIAL_REDIRECT_URIS[0]})
        assert_problem(response, 504, "provider_timeout")


def test_past_the_bulkhead_a_callback_answers_503_at_once_and_its_slot_comes_back(client, db, limits):
    limits.SOCIAL_CALLBACK_CONCURRENCY = 1
    limits.SOCIAL_CALLBACK_DEADLINE = 60  # the held callback waits for the release, not the deadline
    with SlowProvider("hang") as provider:
        kakao_at(limits, provider)
        states = [authorize(client, "kakao")["state"] for _ in range(3)]
        held: list = []
        holder = threading.Thread(target=lambda: held.append(callback(client, "kakao", state=states[0])))
        holder.start()
        provider.wait_for_request()  # the first callback is inside the provider, holding the one slot

        busy = assert_problem(callback(client, "kakao", state=states[1]), 503, "provider_busy")
        assert busy["status"] == 503
        assert not held  # answered while the first still waits

        provider.release.set()  # the provider answers 503: the first callback fails, its slot is free
        holder.join()
        assert_problem(held[0], 502, "provider_unavailable")
        assert_problem(callback(client, "kakao", state=states[2]), 502, "provider_unavailable")
    # The state of the refused callback was not consumed: the client can retry it.
    with SlowProvider("hang") as provider:
        provider.release.set()
        kakao_at(limits, provider)
        assert_problem(callback(client, "kakao", state=states[1]), 502, "provider_unavailable")


def test_a_503_from_the_bulkhead_says_when_to_retry(client, db, limits):
    state = authorize(client, "kakao")["state"]
    limits.SOCIAL_CALLBACK_CONCURRENCY = 0
    response = callback(client, "kakao", state=state)
    assert_problem(response, 503, "provider_busy")
    assert int(response["Retry-After"]) > 0
