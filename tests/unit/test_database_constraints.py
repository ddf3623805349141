"""What the models declare, held by every database the project supports (SQLite, PostgreSQL,
MySQL, MariaDB): identifiers compared byte for byte, one current signing key, and conflicts
between concurrent transactions retried.

The same tests run in each of CI's runs; the ones marked `concurrent_db` need real concurrent
writers and skip on SQLite.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core import checks
from django.db import IntegrityError, OperationalError, connection, connections, transaction

from core.models import User
from core.transactions import is_transaction_conflict, retry_on_conflict
from social import services as social_services
from tests.unit.test_social_services import identity
from tokens.keys import signing_key_rotate
from tokens.models import SigningKey, SigningKeyState

KID = "A" * 42 + "b"


@pytest.mark.django_db
def test_migrate_raises_no_warning_nor_error_on_this_database():
    """The checks `migrate` runs. On MySQL: no W036 (a unique constraint with a condition), no W037
    (a partial index), and the test database passes the character set check (core.mysql.checks)."""
    messages = checks.run_checks(databases=["default"], include_deployment_checks=False)
    assert [m for m in messages if m.level >= checks.WARNING] == []


@pytest.mark.django_db
@pytest.mark.usefixtures("social")
@pytest.mark.parametrize(("first", "second"), [("AbC", "abc"), ("abc", "abc "), ("abc", "ABC")])
def test_two_subjects_differing_only_in_case_or_a_space_are_two_users(first, second):
    one, _ = social_services.social_account_upsert(provider="acme", identity=identity(first, email=None))
    other, created = social_services.social_account_upsert(provider="acme", identity=identity(second, email=None))

    assert created
    assert one.user_id != other.user_id
    assert social_services.social_account_upsert(provider="acme", identity=identity(first, email=None))[0] == one


@pytest.mark.django_db
def test_kids_differing_only_in_case_are_two_keys():
    for kid in (KID, KID.lower()):
        SigningKey.objects.create(kid=kid, algorithm="HS256", state=SigningKeyState.RETIRED, private_key="x")

    assert SigningKey.objects.count() == 2
    assert SigningKey.objects.get(kid=KID).kid == KID


@pytest.mark.django_db
def test_the_database_refuses_a_second_current_key():
    SigningKey.objects.create(kid=KID, algorithm="HS256", private_key="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(kid=KID.lower(), algorithm="HS256", private_key="y")


@pytest.mark.django_db
def test_retired_keys_are_not_limited_in_number():
    for kid in (KID, KID.lower(), "c" * 43):
        SigningKey.objects.create(kid=kid, algorithm="HS256", state=SigningKeyState.RETIRED, private_key="x")
    SigningKey.objects.create(kid="d" * 43, algorithm="HS256", private_key="x")

    assert SigningKey.objects.filter(is_current=True).count() == 1


ROTATORS = 4


@pytest.mark.concurrent_db
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trial", range(10))
def test_four_concurrent_rotations_leave_exactly_one_current_key(trial):
    if trial % 2:
        signing_key_rotate(algorithm="HS256", retire_after=timedelta(days=1))  # half the trials start with a key
    barrier = threading.Barrier(ROTATORS, timeout=10)

    def rotate(_):
        try:
            barrier.wait()
            return signing_key_rotate(algorithm="HS256", retire_after=timedelta(days=1))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(ROTATORS) as pool:
        rotations = list(pool.map(rotate, range(ROTATORS)))

    current = SigningKey.objects.filter(state=SigningKeyState.CURRENT)
    assert current.count() == 1
    assert current.get().kid in {rotation.current.kid for rotation in rotations}
    assert SigningKey.objects.count() == ROTATORS + trial % 2


# --- a real deadlock, retried ------------------------------------------------------------------


def server_side_id(wrapper) -> int:
    """The server's id of a connection: its backend pid on PostgreSQL, its thread id on MySQL."""
    wrapper.ensure_connection()
    if wrapper.vendor == "postgresql":
        return wrapper.connection.info.backend_pid
    return wrapper.connection.thread_id()


def waits_for_a_lock(observer, server_id: int) -> bool:
    """Whether that connection waits for a row lock now (other tests' waits, under xdist, do not count)."""
    if observer.vendor == "postgresql":
        query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = %s"
    else:
        query = (
            "SELECT count(*) FROM information_schema.INNODB_TRX "
            "WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = %s"
        )
    with observer.cursor() as cursor:
        cursor.execute(query, [server_id])
        return bool(cursor.fetchone()[0])


def wait_for_a_lock_wait(observer, server_id: int) -> None:
    for _ in range(400):
        if waits_for_a_lock(observer, server_id):
            return
        time.sleep(0.025)
    raise AssertionError("the transaction never came to wait for the lock")


@pytest.mark.concurrent_db
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_deadlocks_is_run_once_more_and_succeeds(caplog):
    """Two transactions take two rows in opposite orders. The other one has written more rows, and
    this one waited first, so the database (InnoDB by weight, PostgreSQL by who checks first)
    ends this one; retry_on_conflict runs it again after the other committed."""
    users = [User.objects.create_user(email=f"u{n}@example.com") for n in range(4)]
    first, second = users[0], users[1]
    victim_holds_second, other_holds_first = threading.Event(), threading.Event()
    attempts: list[BaseException | None] = []
    victim_id = server_side_id(connection)

    def other() -> None:
        observer = connections.create_connection("default")
        try:
            victim_holds_second.wait(10)
            with transaction.atomic():
                User.objects.filter(pk__in=[first.pk, users[2].pk, users[3].pk]).update(display_name="other")
                other_holds_first.set()
                wait_for_a_lock_wait(observer, victim_id)
                list(User.objects.select_for_update().filter(pk=second.pk))
        finally:
            observer.close()
            connections.close_all()

    @retry_on_conflict
    def victim() -> str:
        attempts.append(None)
        with transaction.atomic():
            list(User.objects.select_for_update().filter(pk=second.pk))
            if len(attempts) == 1:
                victim_holds_second.set()
                other_holds_first.wait(10)
            User.objects.filter(pk=first.pk).update(display_name="victim")
        return "done"

    thread = threading.Thread(target=other)
    thread.start()
    with caplog.at_level(logging.WARNING, logger="core.transactions"):
        assert victim() == "done"
    thread.join(10)

    assert len(attempts) == 2
    first.refresh_from_db()
    assert first.display_name == "victim"  # the retry ran after the other transaction committed
    assert [record.name for record in caplog.records] == ["core.transactions"]
    assert "concurrent transaction" in caplog.records[0].getMessage()


@pytest.mark.django_db
def test_errors_other_than_conflicts_are_not_retried():
    attempts = []

    @retry_on_conflict
    def failing() -> None:
        attempts.append(None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM a_table_that_does_not_exist")

    with pytest.raises(Exception) as raised:  # noqa: PT011 (ProgrammingError or OperationalError by database)
        failing()
    assert len(attempts) == 1
    assert not is_transaction_conflict(raised.value)


def test_an_operational_error_without_a_conflict_code_is_not_a_conflict():
    assert (is_transaction_conflict(conflict(2006)), is_transaction_conflict(conflict(1213))) == (False, True)


def conflict(code: int) -> OperationalError:
    """Django's error as its wrapper raises it, from a driver error with a MySQL error code."""
    error = OperationalError(code, "Deadlock found when trying to get lock; try restarting transaction")
    error.__cause__ = type("DriverError", (Exception,), {})(code, "Deadlock found")
    return error


@pytest.mark.django_db(transaction=True)
def test_a_second_conflict_in_a_row_propagates_for_the_503():
    attempts = []

    @retry_on_conflict
    def always_deadlocks() -> None:
        attempts.append(None)
        raise conflict(1213)

    with pytest.raises(OperationalError):
        always_deadlocks()
    assert len(attempts) == 2


@pytest.mark.django_db
def test_inside_a_transaction_a_conflict_is_left_to_whoever_opened_it():
    attempts = []

    @retry_on_conflict
    def deadlocks() -> None:
        attempts.append(None)
        raise conflict(1205)

    with pytest.raises(OperationalError), transaction.atomic():
        deadlocks()
    assert len(attempts) == 1
