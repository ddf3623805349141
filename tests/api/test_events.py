"""The auth event log: every event of a full run is there, with request id and client IP, and no secret is."""

import io
import json
import logging
import re
import secrets

import pyotp
import pytest
from django.conf import settings as django_settings

from core.events import AuthEvent
from tests import social_mocks as mocks
from tests.passkeys_helpers import ORIGIN, RP_ID, authenticator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("social")]


class CapturedLogs:
    """Everything every logger writes, at every level, and the event log's own lines apart."""

    def __init__(self) -> None:
        self.everything = io.StringIO()
        self.event_lines = io.StringIO()

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.event_lines.getvalue().splitlines()]

    def text(self) -> str:
        return self.everything.getvalue()


@pytest.fixture
def logs():
    captured = CapturedLogs()
    everything = logging.StreamHandler(captured.everything)
    everything.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    events = logging.StreamHandler(captured.event_lines)
    root, event_logger = logging.getLogger(), logging.getLogger("auth.events")
    level = root.level
    root.setLevel(logging.DEBUG)
    for logger, handlers in ((root, [everything]), (event_logger, [everything, events])):
        for handler in handlers:
            logger.addHandler(handler)
    yield captured
    root.setLevel(level)
    for logger in (root, event_logger):
        for handler in (everything, events):
            logger.removeHandler(handler)


class Run:
    """A frontend and a user driving the API through Django's client (every middleware included)."""

    def __init__(self, django_client, rsps) -> None:
        self.client, self.rsps = django_client, rsps
        self.secrets: list[str] = [mocks.KAKAO_CLIENT_SECRET, django_settings.SECRET_KEY]
        self.request_ids: list[str] = []
        self.states: list[str] = []

    def post(self, path: str, body: dict | None = None, *, access: str | None = None, method: str = "post"):
        request_id = f"run-{len(self.request_ids)}"
        self.request_ids.append(request_id)
        headers = {"HTTP_X_REQUEST_ID": request_id} | ({"HTTP_AUTHORIZATION": f"Bearer {access}"} if access else {})
        send = getattr(self.client, method)
        response = send(f"/api{path}", body or {}, content_type="application/json", **headers)
        assert response["X-Request-ID"] == request_id
        return response

    def sign_in(self, *, provider_status: int = 200):
        provider_token = mocks.kakao_token(
            access_token=f"kakao-access-{secrets.token_hex(8)}", refresh_token=f"kakao-refresh-{secrets.token_hex(8)}"
        )
        self.rsps.post(mocks.KAKAO_TOKEN_URL, json=provider_token, status=provider_status)
        self.rsps.get(mocks.KAKAO_USERINFO_URL, json=mocks.kakao_user())
        state = self.post("/auth/social/kakao/authorize", {"redirect_uri": mocks.REDIRECT_URI}).json()["state"]
        code = f"code-{secrets.token_hex(8)}"
        response = self.post("/auth/social/kakao/callback", {"code": code, "state": state})
        self.states.append(state)
        self.secrets += [state, code, provider_token["access_token"], provider_token["refresh_token"]]
        self.keep_tokens(response)
        return response

    def keep_tokens(self, response) -> None:
        if response.status_code == 200:
            self.secrets += [response.json()["access"], response.json()["refresh"]]

    def second_factor(self, access: str) -> list[int]:
        """Enrols TOTP, signs in through the second step, reauthenticates, renews the codes, removes TOTP."""
        begun = self.post("/users/me/mfa/totp", access=access)
        secret = begun.json()["secret"]
        code = pyotp.TOTP(secret).now()
        confirmed = self.post("/users/me/mfa/totp/confirm", {"code": code}, access=access)
        codes = confirmed.json()["recovery_codes"]
        gated = self.sign_in()
        mfa_token = gated.json()["mfa_token"]
        wrong = self.post("/auth/mfa/verify", {"mfa_token": mfa_token, "method": "recovery_code", "code": "nope"})
        verified = self.post("/auth/mfa/verify", {"mfa_token": mfa_token, "method": "recovery_code", "code": codes[0]})
        self.keep_tokens(verified)
        reauthenticated = self.post(
            "/auth/reauthenticate", {"method": "recovery_code", "code": codes[1]}, access=verified.json()["access"]
        )
        self.keep_tokens(reauthenticated)
        strong = reauthenticated.json()["access"]
        renewed = self.post("/users/me/mfa/recovery-codes", access=strong)
        removed = self.post("/users/me/mfa/totp", access=strong, method="delete")
        self.secrets += [secret, code, mfa_token, *codes, *renewed.json()["recovery_codes"]]
        responses = [begun, confirmed, gated, wrong, verified, reauthenticated, renewed, removed]
        return [response.status_code for response in responses]

    def code_verifiers(self) -> list[str]:
        return [mocks.form_of(call)["code_verifier"] for call in self.rsps.calls if call.request.method == "POST"]


def test_a_full_run_logs_every_event_with_its_request_and_never_a_secret(django_client, rsps, logs, settings, capfd):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0  # the replay below is reuse at once
    run = Run(django_client, rsps)

    first = run.sign_in().json()
    registered, removed = run_passkey(run, settings, access=first["access"])
    refreshed = run.post("/auth/token/refresh", {"refresh": first["refresh"]})
    run.keep_tokens(refreshed)
    reused = run.post("/auth/token/refresh", {"refresh": first["refresh"]})
    second = run.sign_in().json()
    logout = run.post("/auth/logout", access=second["access"])
    third = run.sign_in().json()
    logout_by_refresh = run.post("/auth/logout", {"refresh": third["refresh"]})
    fourth, fifth = run.sign_in().json(), run.sign_in().json()
    deleted = run.post(f"/auth/sessions/{session_of(fourth)}", access=fifth["access"], method="delete")
    logout_all = run.post("/auth/logout-all", access=fifth["access"])
    provider_down = run.sign_in(provider_status=500)
    state_replayed = run.post("/auth/social/kakao/callback", {"code": "code-replayed", "state": run.states[0]})
    sixth = run.sign_in().json()
    second_factor = run.second_factor(sixth["access"])
    settings.JWT_MAX_SESSIONS_PER_USER = 1
    seventh = run.sign_in().json()  # beyond the limit: the sixth session is ended
    settings.API_THROTTLE_RATES = {"session": "1/min"}
    throttled = [run.post("/auth/sessions", access=seventh["access"], method="get").status_code for _ in range(3)]

    assert (refreshed.status_code, reused.status_code, logout.status_code) == (200, 401, 204)
    assert (logout_by_refresh.status_code, deleted.status_code, logout_all.status_code) == (204, 204, 200)
    assert (provider_down.status_code, state_replayed.status_code, throttled[-1]) == (502, 400, 429)
    assert (registered, removed) == (201, 204)
    assert second_factor == [200, 200, 403, 403, 200, 200, 200, 204]

    events = logs.events()
    # All but the administrator's reset of a user's factors (tests/api/test_mfa_operators.py).
    assert {event["event"] for event in events} == set(AuthEvent) - {AuthEvent.MFA_RESET}
    by_name: dict[str, dict] = {}  # the first of each
    for event in events:
        by_name.setdefault(event["event"], event)
    assert by_name["sign_in"] | {"time": None} == {
        "time": None,
        "event": "sign_in",
        "outcome": "success",
        "request_id": "run-1",
        "client_ip": "127.0.0.1",
        "provider": "kakao",
        "user_id": first["user"]["id"],
        "created": True,
    }
    assert by_name["reuse_detected"]["session_id"] == session_of(first)
    assert by_name["reuse_detected"]["outcome"] == "session_ended"
    assert by_name["logout_all"]["sessions_ended"] == 1
    assert (by_name["provider_failure"]["outcome"], by_name["provider_failure"]["provider"]) == (
        "provider_unavailable",
        "kakao",
    )
    assert by_name["session_deleted"]["session_id"] == session_of(fourth)
    # The sixth session and the second factor's are both beyond the limit of one.
    evicted = [event for event in events if event["event"] == "session_evicted"]
    assert session_of(sixth) in {event["session_id"] for event in evicted}
    assert {event["outcome"] for event in evicted} == {"session_limit"}
    assert {e["outcome"] for e in events if e["event"] == "sign_in"} == {"success", "state_invalid"}
    assert [e for e in events if e["event"] == "throttled"] == [by_name["throttled"]]  # once per window
    assert all(event["request_id"] in run.request_ids for event in events)

    captured = logs.text() + "".join(capfd.readouterr())
    # The capture sees the event log and Django's own request log.
    assert "auth.events INFO" in captured
    assert "django.request WARNING" in captured
    leaked = [value for value in [*run.secrets, *run.code_verifiers()] if value in captured]
    assert len(run.code_verifiers()) == 9  # one per sign-in that reached the provider, the second factor's included
    assert leaked == []


def run_passkey(run: Run, settings, *, access: str) -> tuple[int, int]:
    """Registers a passkey, signs in with it (and out), removes it: the WebAuthn events."""
    settings.AUTH_WEBAUTHN, settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGINS = True, RP_ID, [ORIGIN]
    device = authenticator()
    started = run.post("/users/me/webauthn/register/options", {"passkey": True}, access=access).json()
    body = {"challenge_id": started["challenge_id"], "credential": device.create(started["options"]), "name": "Key"}
    registered = run.post("/users/me/webauthn/register", body, access=access)
    started = run.post("/auth/webauthn/options").json()
    credential = device.get(started["options"])
    run.secrets.append(credential["response"]["signature"])
    signed_in = run.post("/auth/webauthn", {"challenge_id": started["challenge_id"], "credential": credential})
    run.keep_tokens(signed_in)
    run.post("/auth/logout", {"refresh": signed_in.json()["refresh"]})
    removed = run.post(f"/users/me/webauthn/{registered.json()['id']}", access=access, method="delete")
    return registered.status_code, removed.status_code


def session_of(pair: dict) -> str:
    from tests.forge import claims_of

    return claims_of(pair["access"])["sid"]


@pytest.mark.parametrize("given", ["abc-123", "0f0e7a1c-92b5-4c1e-9d1c-8b1f3a7e2d10", "trace.id:42_x"])
def test_a_sane_request_id_is_kept_and_echoed(django_client, given):
    response = django_client.get("/api/health/live", HTTP_X_REQUEST_ID=given)
    assert response["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "a" * 129, "two words", "line\nbreak", '{"json":1}', "ü"])
def test_any_other_request_id_is_replaced_by_a_generated_one(django_client, given):
    response = django_client.get("/api/health/live", HTTP_X_REQUEST_ID=given)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_a_request_without_an_id_gets_one_even_on_an_error(django_client):
    response = django_client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_a_rejected_authorization_header_is_never_logged(django_client, pair, logs, settings):
    settings.DEBUG = True  # Ninja's own bearer check would log the whole header here
    django_client.get("/api/auth/whoami", HTTP_AUTHORIZATION=f"Basic {pair.access}")
    django_client.get("/api/auth/whoami", HTTP_AUTHORIZATION=f"Bearer {pair.access}x")
    assert pair.access not in logs.text()
