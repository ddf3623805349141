"""Deleting an account, unlinking at Kakao with the Admin key, and Kakao's unlink callback."""

from datetime import timedelta

import pytest
import requests
from django.core import mail

from core.models import User
from social.models import SocialAccount
from tests import social_mocks as mocks
from tests.accounts_helpers import STRONG_PASSWORD
from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_accounts_identities import link_google
from tests.api.test_token_api import assert_invalid_token, assert_problem
from tests.conftest import bearer
from tokens.models import Session, SessionEndReason

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("social")]

ADMIN_KEY = "kakao-admin-key-from-the-platform-keys-tab"
KAKAO_APP_ID = "1234567"
UNLINK_URL = "https://kapi.kakao.com/v1/user/unlink"


@pytest.fixture
def kakao_admin(settings):
    settings.SOCIAL_KAKAO_ADMIN_KEY = ADMIN_KEY
    settings.SOCIAL_KAKAO_APP_ID = KAKAO_APP_ID
    settings.SOCIAL_KAKAO_UNLINK_URL = UNLINK_URL


def make_old() -> None:
    """Moves the sign-in of every session back past ACCOUNTS_RECENT_SIGN_IN_MINUTES."""
    for session in Session.objects.all():
        Session.objects.filter(pk=session.pk).update(auth_time=session.auth_time - timedelta(hours=1))


def delete_me(client, access: str, **body):
    return client.delete("/users/me", json=body or None, headers=bearer(access))


# --- DELETE /api/users/me ------------------------------------------------------------------


def test_deleting_after_a_recent_sign_in_removes_everything(client, rsps):
    pair = signed_up(client)
    other = sign_in(client).json()
    link_google(client, rsps, pair["access"], email="someone-else@gmail.example")

    response = delete_me(client, pair["access"])

    assert response.status_code == 204
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()
    assert not Session.objects.exists()
    for tokens in (pair, other):
        assert_invalid_token(client.get("/auth/whoami", headers=bearer(tokens["access"])), "token_revoked")
        assert_invalid_token(client.get("/users/me", headers=bearer(tokens["access"])), "token_revoked")
    assert_problem(sign_in(client), 401, "credentials_invalid")


def test_deleting_long_after_signing_in_needs_the_password(client):
    pair = signed_up(client)
    make_old()

    assert_problem(delete_me(client, pair["access"]), 403, "reauthentication_required")
    assert_problem(delete_me(client, pair["access"], password="not the passphrase"), 403, "password_incorrect")
    assert User.objects.exists()

    assert delete_me(client, pair["access"], password=STRONG_PASSWORD).status_code == 204
    assert not User.objects.exists()


def test_the_recent_window_is_a_setting(client, settings):
    pair = signed_up(client)
    settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES = 120
    make_old()

    assert delete_me(client, pair["access"]).status_code == 204


def test_a_refresh_does_not_make_a_sign_in_recent(client):
    pair = signed_up(client)
    make_old()
    refreshed = client.post("/auth/token/refresh", json={"refresh": pair["refresh"]}).json()

    assert_problem(delete_me(client, refreshed["access"]), 403, "reauthentication_required")


def test_deleting_needs_a_bearer_token(client):
    assert_problem(client.delete("/users/me"), 401, "not_authenticated")


def test_deleting_unlinks_kakao_with_the_admin_key(client, rsps, kakao_admin):
    login = mocks.login_kakao(client, rsps).json()
    rsps.post(UNLINK_URL, json={"id": mocks.KAKAO_USER_ID})

    assert delete_me(client, login["access"]).status_code == 204

    (call,) = [call for call in rsps.calls if call.request.url == UNLINK_URL]
    assert call.request.headers["Authorization"] == f"KakaoAK {ADMIN_KEY}"
    assert mocks.form_of(call) == {"target_id_type": "user_id", "target_id": str(mocks.KAKAO_USER_ID)}
    assert not User.objects.exists()


def test_a_user_kakao_already_unlinked_is_deleted(client, rsps, kakao_admin):
    login = mocks.login_kakao(client, rsps).json()
    rsps.post(UNLINK_URL, status=400, json={"msg": "NotRegisteredUserException", "code": -101})

    assert delete_me(client, login["access"]).status_code == 204
    assert not User.objects.exists()


def test_when_kakao_refuses_the_unlink_nothing_is_deleted(client, rsps, kakao_admin):
    login = mocks.login_kakao(client, rsps).json()
    rsps.post(UNLINK_URL, status=401, json={"msg": "wrong appKey(...) type. appKey should be ADMIN", "code": -401})

    response = delete_me(client, login["access"])

    body = assert_problem(response, 502, "provider_unavailable")
    assert body["provider_error"] == "-401"
    assert User.objects.exists()
    assert client.get("/users/me", headers=bearer(login["access"])).status_code == 200


def test_when_kakao_does_not_answer_nothing_is_deleted(client, rsps, kakao_admin):
    login = mocks.login_kakao(client, rsps).json()
    rsps.post(UNLINK_URL, body=requests.ReadTimeout())

    assert_problem(delete_me(client, login["access"]), 504, "provider_timeout")
    assert User.objects.exists()


def test_without_the_admin_key_kakao_is_not_called(client, rsps):
    login = mocks.login_kakao(client, rsps).json()

    assert delete_me(client, login["access"]).status_code == 204
    assert not [call for call in rsps.calls if call.request.url == UNLINK_URL]


# --- Kakao's unlink callback ------------------------------------------------------------------


def kakao_unlink_callback(django_client, *, key: str = ADMIN_KEY, app_id: str = KAKAO_APP_ID, **form):
    return django_client.post(
        "/api/auth/kakao/unlink",
        {"app_id": app_id, "user_id": str(mocks.KAKAO_USER_ID), "referrer_type": "UNLINK_FROM_APPS", **form},
        HTTP_AUTHORIZATION=f"KakaoAK {key}",
    )


def test_the_unlink_callback_removes_the_only_identity_and_ends_the_sessions(client, django_client, rsps, kakao_admin):
    login = mocks.login_kakao(client, rsps).json()

    response = kakao_unlink_callback(django_client)

    assert response.status_code == 200
    assert not SocialAccount.objects.exists()
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(login["access"])), "token_revoked")
    assert set(Session.objects.values_list("end_reason", flat=True)) == {SessionEndReason.SIGN_IN_METHOD_REMOVED}


def test_the_unlink_callback_keeps_the_sessions_of_a_user_with_another_way_in(client, django_client, rsps, kakao_admin):
    pair = signed_up(client, "minji@kakao.example")
    mocks.login_kakao(client, rsps)  # Links to the verified address.
    assert SocialAccount.objects.get().user.email == "minji@kakao.example"

    assert kakao_unlink_callback(django_client).status_code == 200

    assert not SocialAccount.objects.exists()
    assert client.get("/auth/whoami", headers=bearer(pair["access"])).status_code == 200


def test_the_unlink_callback_needs_the_admin_key(client, django_client, rsps, kakao_admin):
    mocks.login_kakao(client, rsps)

    for response in (
        kakao_unlink_callback(django_client, key="another-key"),
        django_client.post("/api/auth/kakao/unlink", {"app_id": KAKAO_APP_ID, "user_id": "1"}),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert SocialAccount.objects.exists()


def test_the_unlink_callback_is_refused_without_an_admin_key_configured(client, django_client, rsps, settings):
    mocks.login_kakao(client, rsps)
    settings.SOCIAL_KAKAO_ADMIN_KEY = ""

    assert kakao_unlink_callback(django_client, key="").status_code == 401
    assert SocialAccount.objects.exists()


def test_the_unlink_callback_of_another_app_is_refused(client, django_client, rsps, kakao_admin):
    mocks.login_kakao(client, rsps)

    response = kakao_unlink_callback(django_client, app_id="7654321")

    assert response.status_code == 400
    assert response.json()["code"] == "kakao_app_mismatch"
    assert SocialAccount.objects.exists()


def test_the_unlink_callback_of_an_unknown_user_is_ok(django_client, kakao_admin):
    assert kakao_unlink_callback(django_client).status_code == 200


def test_deletion_sends_one_notice_to_the_address_it_had(client):
    pair = signed_up(client)
    address = User.objects.get().email
    mail.outbox.clear()
    delete_me(client, pair["access"])
    (notice,) = mail.outbox
    assert notice.to == [address]
    assert notice.subject == "Your account was deleted"
    assert "http" not in notice.body
