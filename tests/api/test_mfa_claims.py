"""The tokens say how the user signed in: auth_time, amr and acr in access tokens, kept across a
refresh, shown by introspection and /users/me; an access check still makes no query."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_introspection_revocation import introspect, resource_servers  # noqa: F401 (fixture)
from tests.conftest import bearer
from tests.forge import claims_of
from tests.mfa_helpers import enrol, sign_in_with_recovery_code
from tokens.services import token_pair_refresh

pytestmark = pytest.mark.django_db


def test_a_password_sign_in_is_pwd_at_aal1(client):
    signed_up(client)
    with time_machine.travel(timezone.now(), tick=False):
        claims = claims_of(sign_in(client).json()["access"])
        assert claims["auth_time"] == int(timezone.now().timestamp())
    assert (claims["amr"], claims["acr"]) == (["pwd"], "aal1")


def test_a_refresh_keeps_the_sign_ins_values(client, django_assert_num_queries):
    _, codes = enrol(client, signed_up(client)["access"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        pair = sign_in_with_recovery_code(client, codes[0]).json()
        signed_in_at = int(timezone.now().timestamp())
        clock.shift(timedelta(minutes=5))
        first = client.post("/auth/token/refresh", json={"refresh": pair["refresh"]}).json()
        # The refresh path's queries, unchanged: the session's values come with its one read
        # (4 inside the test's transaction: tests/unit/test_token_services.py).
        with django_assert_num_queries(4):
            refreshed = token_pair_refresh(refresh=first["refresh"])
    claims = claims_of(refreshed.access)
    assert claims_of(first["access"])["auth_time"] == claims["auth_time"] == signed_in_at
    assert claims["iat"] == signed_in_at + 300
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], "aal2")


def test_introspection_and_users_me_show_them(client):
    _, codes = enrol(client, signed_up(client)["access"])
    access = sign_in_with_recovery_code(client, codes[0]).json()["access"]
    claims = claims_of(access)

    introspected = introspect(client, access)
    assert {name: introspected[name] for name in ("auth_time", "amr", "acr")} == {
        "auth_time": claims["auth_time"],
        "amr": ["pwd", "otp", "mfa"],
        "acr": "aal2",
    }
    me = client.get("/users/me", headers=bearer(access)).json()
    assert (me["auth_time"], me["amr"], me["acr"]) == (claims["auth_time"], ["pwd", "otp", "mfa"], "aal2")


def test_an_access_check_makes_no_query(client, django_assert_num_queries):
    _, codes = enrol(client, signed_up(client)["access"])
    access = sign_in_with_recovery_code(client, codes[0]).json()["access"]
    with django_assert_num_queries(0):
        assert client.get("/auth/whoami", headers=bearer(access)).status_code == 200
