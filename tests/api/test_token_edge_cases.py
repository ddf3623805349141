"""Edges of the bearer and refresh paths that a client meets rarely but must see answered right:
an access token this process remembers that has since expired, ids in a validly signed token
that are not ids, and a logout with a refresh token the database no longer knows."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.api.test_token_api import assert_invalid_token
from tests.conftest import bearer
from tests.forge import claims_of, resign
from tokens import services
from tokens.conf import token_settings
from tokens.models import Session


def _last_accepted_moment(token: str) -> datetime:
    """The token's `exp` plus the leeway: the last moment it is accepted."""
    return datetime.fromtimestamp(claims_of(token)["exp"], tz=UTC) + token_settings().leeway


def test_a_remembered_access_token_is_refused_once_it_expires(client, pair):
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    hits = services._access_principal.cache_info().hits

    with time_machine.travel(_last_accepted_moment(pair.access) + timedelta(seconds=1), tick=False):
        response = client.get("/auth/whoami", headers=bearer(pair.access))

    assert_invalid_token(response, "token_expired")
    # Answered from the process's memory of the verified token, not by verifying it again.
    assert services._access_principal.cache_info().hits == hits + 1


def test_a_remembered_access_token_still_works_within_the_leeway(client, pair):
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200

    with time_machine.travel(_last_accepted_moment(pair.access) - timedelta(seconds=1), tick=False):
        assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200


@pytest.mark.parametrize(("claim", "value"), [("sid", "not-a-uuid"), ("sid", None), ("sub", "ada"), ("sub", "1.5")])
def test_an_access_token_with_a_malformed_id_claim_is_invalid(client, pair, claim, value):
    forged = resign(pair.access, **{claim: value})
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(forged)), "token_invalid")


@pytest.mark.parametrize(("claim", "value"), [("jti", "not-a-uuid"), ("sid", "not-a-uuid"), ("sid", None)])
def test_a_refresh_token_with_a_malformed_id_claim_is_invalid_and_ends_nothing(client, pair, claim, value):
    forged = resign(pair.refresh, **{claim: value})

    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": forged}), "token_invalid")
    assert_invalid_token(client.post("/auth/logout", json={"refresh": forged}), "token_invalid")
    assert Session.objects.get().ended_at is None
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).status_code == 200


def test_logout_with_a_refresh_token_the_database_does_not_know_is_invalid(client, user, pair):
    # The user was deleted, and their sessions with them: the token still verifies, but names nothing.
    user.delete()
    assert_invalid_token(client.post("/auth/logout", json={"refresh": pair.refresh}), "token_invalid")


def test_logout_with_a_refresh_token_of_another_session_is_invalid(client, pair):
    # A validly signed token whose jti and sid do not belong together.
    other_session = "00000000-0000-4000-8000-000000000000"
    forged = resign(pair.refresh, sid=other_session)

    assert_invalid_token(client.post("/auth/logout", json={"refresh": forged}), "token_invalid")
    assert Session.objects.get().ended_at is None


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
def test_verify_calls_a_token_that_is_not_a_jwt_invalid(client, db, token):
    assert_invalid_token(client.post("/auth/token/verify", json={"token": token}), "token_invalid")


def test_verify_checks_a_token_of_unknown_type_as_an_access_token(client, pair):
    forged = resign(pair.access, headers={"typ": "JWT"})
    assert_invalid_token(client.post("/auth/token/verify", json={"token": forged}), "token_invalid")
