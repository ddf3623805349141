"""The refresh path's hand-built SQL (tokens.fastsql) reads and writes what its ORM form does.

The read: compared field by field with fastsql.refresh_token_get_orm on the same rows, in every state a
chain can be in. The INSERT: the row it writes is the row fastsql.refresh_token_insert_orm writes for the
same instance, and reads back as the instance it returned. On whichever database the run uses (CI:
SQLite, then PostgreSQL).
"""

import uuid

import pytest
from django.db import IntegrityError
from django.db.models.signals import post_save, pre_save
from django.forms.models import model_to_dict
from django.utils import timezone

from tests.forge import claims_of
from tokens import fastsql, services
from tokens.models import RefreshToken
from tokens.selectors import refresh_token_get

pytestmark = pytest.mark.django_db


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
    with django_assert_num_queries(1):
        expected = fastsql.refresh_token_get_orm(jti=jti)
        # The reference caches the same related objects: reading them makes no query either.
        assert expected.session.user.pk
        if expected.is_used:
            assert expected.replaced_by.is_used is (rotations >= 2)

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
    assert model_to_dict(token.session.user) == model_to_dict(fastsql.refresh_token_get_orm(jti=token.jti).session.user)


def test_an_unknown_jti_is_none(pair, django_assert_num_queries):
    jti = uuid.uuid4()
    with django_assert_num_queries(1):
        assert refresh_token_get(jti=jti) is None
    assert fastsql.refresh_token_get_orm(jti=jti) is None


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


@pytest.mark.parametrize("rotated", [False, True], ids=["first of a session", "successor"])
def test_the_insert_writes_the_row_the_orms_insert_writes(user, rotated):
    services.session_start(user=user)
    first = RefreshToken.objects.get()
    jti, now = uuid.uuid4(), timezone.now()
    rows = []
    for insert in (fastsql.refresh_token_insert, fastsql.refresh_token_insert_orm):
        token = RefreshToken(
            jti=jti,
            session=first.session,
            issued_at=now,
            expires_at=first.expires_at,
            rotated_from=first if rotated else None,
        )
        insert(token)
        assert (token._state.adding, token._state.db) == (False, "default")
        rows.append(RefreshToken.objects.filter(jti=jti).values().get())
        RefreshToken.objects.filter(jti=jti).delete()

    fast, orm = rows
    assert fast == orm
    assert fast["rotated_from_id"] == (first.jti if rotated else None)


def test_a_second_successor_of_one_token_is_refused_by_the_database(user):
    services.session_start(user=user)
    token = RefreshToken.objects.get()
    services._refresh_token_create(session=token.session, now=timezone.now(), rotated_from=token)

    with pytest.raises(IntegrityError):
        services._refresh_token_create(session=token.session, now=timezone.now(), rotated_from=token)


def test_no_receiver_listens_to_refresh_token_saves_which_the_insert_does_not_send():
    assert not pre_save.has_listeners(RefreshToken)
    assert not post_save.has_listeners(RefreshToken)
