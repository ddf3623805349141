"""The refresh path's hand-written SQL reads and writes what the ORM would.

tokens.selectors.refresh_token_get, its one read: compared field by field with
RefreshToken.objects.select_related(...) on the same rows, in every state a chain can be in.
tokens.services._refresh_token_create, its INSERT: the row read back by the ORM is the
instance it returned. On whichever database the run uses (CI: SQLite, then PostgreSQL).
"""

import uuid

import pytest
from django.db import IntegrityError
from django.db.models.signals import post_save, pre_save
from django.forms.models import model_to_dict
from django.utils import timezone

from tests.forge import claims_of
from tokens import services
from tokens.models import RefreshToken
from tokens.selectors import refresh_token_get

pytestmark = pytest.mark.django_db


def orm_read(jti):
    return RefreshToken.objects.select_related("session__user", "replaced_by__replaced_by").get(jti=jti)


def fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def assert_same(loaded, expected):
    assert type(loaded) is type(expected)
    assert fields(loaded) == fields(expected)
    for name, value in fields(loaded).items():  # converted as the ORM converts: UUID, aware datetime, bool
        assert type(value) is type(fields(expected)[name]), name


def jti_of(refresh: str) -> uuid.UUID:
    return uuid.UUID(claims_of(refresh)["jti"])


@pytest.mark.parametrize("rotations", [0, 1, 2, 3])
def test_loads_the_token_its_session_user_successor_and_successors_successor_as_the_orm_does(
    pair, rotations, django_assert_num_queries
):
    chain = [pair.refresh]
    for _ in range(rotations):
        chain.append(services.token_pair_refresh(refresh=chain[-1]).refresh)
    jti = jti_of(chain[0])
    expected = orm_read(jti)

    with django_assert_num_queries(1):
        token = refresh_token_get(jti=jti)
        assert_same(token, expected)
        assert_same(token.session, expected.session)
        assert_same(token.session.user, expected.session.user)
        assert token.is_used is expected.is_used is (rotations >= 1)
        if token.is_used:
            assert_same(token.replaced_by, expected.replaced_by)
            assert token.replaced_by.rotated_from is token
            assert token.replaced_by.is_used is expected.replaced_by.is_used is (rotations >= 2)


def test_an_ended_session_and_a_disabled_user_read_as_they_are(pair, user):
    services.session_logout(refresh=pair.refresh, access=None)
    user.is_active = False
    user.save()

    token = refresh_token_get(jti=jti_of(pair.refresh))

    assert token.session.ended_at is not None
    assert token.session.user.is_active is False
    assert model_to_dict(token.session.user) == model_to_dict(orm_read(token.jti).session.user)


def test_an_unknown_jti_is_none(pair, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert refresh_token_get(jti=uuid.uuid4()) is None


# --- the INSERT ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rotated", [False, True], ids=["first of a session", "successor"])
def test_the_inserted_row_reads_back_as_the_instance_it_returns(user, rotated, django_assert_num_queries):
    services.session_start(user=user)
    session = RefreshToken.objects.get().session
    predecessor = RefreshToken.objects.get() if rotated else None

    with django_assert_num_queries(1):
        token = services._refresh_token_create(session=session, now=timezone.now(), rotated_from=predecessor)

    stored = RefreshToken.objects.get(jti=token.jti)
    assert_same(token, stored)
    assert token._state.adding is False
    assert token._state.db == "default"
    assert stored.rotated_from_id == (predecessor.jti if rotated else None)


def test_a_second_successor_of_one_token_is_refused_by_the_database(user):
    services.session_start(user=user)
    token = RefreshToken.objects.get()
    services._refresh_token_create(session=token.session, now=timezone.now(), rotated_from=token)

    with pytest.raises(IntegrityError):
        services._refresh_token_create(session=token.session, now=timezone.now(), rotated_from=token)


def test_no_receiver_listens_to_refresh_token_saves_which_the_insert_does_not_send():
    assert not pre_save.has_listeners(RefreshToken)
    assert not post_save.has_listeners(RefreshToken)
