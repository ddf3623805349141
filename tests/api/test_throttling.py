"""Rate limits: per client IP (by the one client-IP rule), per provider, per session; counted atomically."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from config.api import api
from core import throttling
from core.throttling import Throttle, sign_in_throttles, token_throttle
from tests import social_mocks as mocks
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer, closed_port
from tokens.auth import jwt_auth, session_throttle
from tokens.models import Session
from tokens.services import access_token_authenticate, session_start

PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _one_window():
    """Counts start afresh at each window (aligned to the clock): keep every test inside one."""
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        yield


@pytest.fixture
def low_limits(settings):
    settings.API_THROTTLE_RATES = {"sign_in": "2/min", "tokens": "2/min", "session": "2/min"}


def verify(django_client, token: str, **meta: str):
    return django_client.post("/api/auth/token/verify", {"token": token}, content_type="application/json", **meta)


def test_refresh_is_limited_per_client_with_a_429_problem_and_retry_after(client, pair, low_limits):
    for _ in range(2):
        assert client.post("/auth/token/verify", json={"token": pair.access}).status_code == 200
    response = client.post("/auth/token/verify", json={"token": pair.access})
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Another client address has its own budget.
    other = client.post("/auth/token/verify", json={"token": pair.access}, META={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200


def test_a_spoofed_x_forwarded_for_is_still_throttled(django_client, pair, low_limits):
    statuses = [
        verify(django_client, pair.access, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(10)
    ]
    assert statuses == [200, 200] + [429] * 8


def test_behind_one_proxy_each_client_has_its_own_budget_whatever_it_writes_in_front(
    django_client, pair, low_limits, settings
):
    settings.API_NUM_PROXIES = 1
    alice = [
        verify(django_client, pair.access, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7")
        for n in range(3)
    ]
    bob = verify(django_client, pair.access, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert [response.status_code for response in alice] == [200, 200, 429]
    assert bob.status_code == 200


def test_behind_one_proxy_a_request_that_bypassed_it_counts_as_its_peer(django_client, pair, low_limits, settings):
    settings.API_NUM_PROXIES = 1
    statuses = [verify(django_client, pair.access, REMOTE_ADDR="192.0.2.50").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.usefixtures("social")
def test_the_session_records_the_client_address_the_proxy_saw(client, db, rsps, settings):
    settings.API_NUM_PROXIES = 1
    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.7"}
    response = client.post("/auth/social/kakao/callback", json={"code": "code", "state": state}, META=meta)

    assert response.status_code == 200, response.json()
    assert Session.objects.get().ip == "203.0.113.7"


@pytest.mark.usefixtures("social")
def test_sign_in_is_limited_per_provider_across_client_addresses(client, db, rsps, settings):
    settings.API_THROTTLE_RATES = {"sign_in": "", "sign_in_provider": "2/min"}
    mocks.GOOGLE.mock_metadata(rsps)
    body = {"redirect_uri": mocks.REDIRECT_URI}
    kakao = [
        client.post("/auth/social/kakao/authorize", json=body, META={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code
        for n in range(3)
    ]
    google = client.post("/auth/social/google/authorize", json=body).status_code

    assert kakao == [200, 200, 429]
    assert google == 200


def test_social_authorize_is_limited_per_client(client, db, settings, low_limits):
    settings.SOCIAL_REDIRECT_URIS = ["http://127.0.0.1:8000/auth/callback/kakao"]
    settings.SOCIAL_KAKAO_CLIENT_ID = "kakao-rest-api-key"
    body = {"redirect_uri": "http://127.0.0.1:8000/auth/callback/kakao"}
    statuses = [client.post("/auth/social/kakao/authorize", json=body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_authenticated_endpoints_are_limited_per_session_not_per_address(client, user, low_limits):
    first, second = (session_start(user=user) for _ in range(2))
    statuses = [client.get("/auth/whoami", headers=bearer(first.access)).status_code for _ in range(2)]
    third = client.get("/users/me", headers=bearer(first.access))
    other_session = client.get("/auth/whoami", headers=bearer(second.access))

    assert statuses == [200, 200]
    assert_problem(third, 429, "throttled")
    assert other_session.status_code == 200


def test_every_authenticated_endpoint_has_a_session_limit():
    # Authenticated by an access token; refresh and logout's auth hook is the refresh cookie's CSRF check.
    authenticated = [
        operation
        for router in api._get_bound_routers()
        for path_view in router.path_operations.values()
        for operation in path_view.operations
        if jwt_auth in operation.auth_callbacks
    ]
    assert authenticated
    for operation in authenticated:
        assert session_throttle in operation.throttle_objects, operation.view_func.__name__


def test_an_empty_rate_turns_the_limit_off(client, pair, settings):
    settings.API_THROTTLE_RATES = {"sign_in": "", "tokens": "", "session": ""}
    assert all(client.post("/auth/token/verify", json={"token": pair.access}).status_code == 200 for _ in range(150))


def test_a_limit_that_is_off_does_not_identify_the_client(rf, settings):
    settings.API_THROTTLE_RATES = {"session": ""}
    identified = []
    throttle = Throttle("session", lambda request: identified.append(request) or "someone")
    assert throttle.allow_request(rf.get("/api/auth/whoami"))
    assert identified == []


def test_default_limits_leave_room_for_normal_use(client, pair):
    assert all(client.post("/auth/token/verify", json={"token": pair.access}).status_code == 200 for _ in range(20))


def test_concurrent_requests_never_exceed_the_limit(client, pair, settings):
    """Many threads at once against one counter (Redis in the PostgreSQL+Redis run): exactly the limit passes."""
    settings.API_THROTTLE_RATES = {"session": "25/min"}

    def whoami(_):
        return client.get("/auth/whoami", headers=bearer(pair.access)).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(whoami, range(160)))

    assert statuses.count(200) == 25
    assert statuses.count(429) == 135


def test_throttles_keep_no_state_of_their_own_between_requests(client, pair, low_limits):
    throttles = [*sign_in_throttles, token_throttle, session_throttle]
    before = [dict(vars(throttle)) for throttle in throttles]
    for _ in range(3):
        client.post("/auth/token/verify", json={"token": pair.access})
        client.get("/auth/whoami", headers=bearer(pair.access))
    assert [vars(throttle) for throttle in throttles] == before


def test_with_the_cache_unreachable_the_limits_serve_requests_and_each_process_counts_them(
    client, pair, settings, low_limits
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    settings.JWT_SESSION_DENYLIST = False  # it fails closed; the limits are what is under test

    with time_machine.travel(timezone.now().replace(second=0, microsecond=0), tick=False):  # one window
        statuses = [client.post("/auth/token/verify", json={"token": pair.access}).status_code for _ in range(3)]

    # Served while the cache is down, and still limited: this process counted them on its own.
    assert statuses == [200, 200, 429]


def test_with_the_cache_unreachable_the_session_limit_still_holds_per_process(client, pair, settings, low_limits):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    settings.JWT_SESSION_DENYLIST = False

    statuses = [client.get("/auth/whoami", headers=bearer(pair.access)).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_session_limit_makes_no_cache_call_per_request(client, pair, monkeypatch):
    callers = []  # the reconcile thread may add other tests' counts meanwhile: only this thread's matter
    monkeypatch.setattr(throttling, "window_add", lambda *args, **kwargs: callers.append(threading.get_ident()) or 1)
    for _ in range(5):
        assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert threading.get_ident() not in callers


def test_the_session_limit_counts_what_other_processes_added_to_the_cache(client, pair, low_limits):
    """Another process's requests reach this one through the cache's total, read back at each reconcile."""
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    session_id = access_token_authenticate(token=pair.access).session_id
    key = throttling._Window(scope="session", ident=str(session_id), duration=60, now=time.time()).key
    throttling._process_counts.reconcile()
    throttling.window_add(key, 1, timeout=61)  # another process's request, reconciled
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200  # this process: 2 of 2
    throttling._process_counts.reconcile()  # the total is now 3: one more than the limit
    assert_problem(client.get("/auth/whoami", headers=bearer(pair.access)), 429, "throttled")
