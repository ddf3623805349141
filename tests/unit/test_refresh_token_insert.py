"""tokens.services._refresh_token_create: the rotation's INSERT, hand-written SQL, saves what the ORM would.

On whichever database the run uses (CI: SQLite, then PostgreSQL).
"""

import pytest
from django.db import IntegrityError
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from tokens import services
from tokens.models import RefreshToken

pytestmark = pytest.mark.django_db


def fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.parametrize("rotated", [False, True], ids=["first of a session", "successor"])
def test_the_row_reads_back_as_the_instance_it_returns(user, rotated, django_assert_num_queries):
    services.session_start(user=user)
    session = RefreshToken.objects.get().session
    predecessor = RefreshToken.objects.get() if rotated else None

    with django_assert_num_queries(1):
        token = services._refresh_token_create(session=session, now=timezone.now(), rotated_from=predecessor)

    stored = RefreshToken.objects.get(jti=token.jti)
    assert fields(stored) == fields(token)
    for name, value in fields(stored).items():
        assert type(value) is type(fields(token)[name]), name
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
