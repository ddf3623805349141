"""core.mysql and core.mysql.checks on a real MySQL or MariaDB: the session it sets up, the check
that refuses a database not in utf8mb4, and a data error answered as a bug, not an outage.

Schema changes here are real DDL, which MySQL commits at once: the tests run outside a
transaction and put the schema back as they found it.
"""

import logging
from collections.abc import Iterator

import pytest
from django.core import checks
from django.db import connection

from core.fields import binary_collation
from tests.accounts_helpers import STRONG_PASSWORD

pytestmark = [
    pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's backend; this run has another"),
    pytest.mark.django_db(transaction=True),
]


def run(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []


@pytest.fixture
def latin1_display_names() -> Iterator[None]:
    """core_user.display_name in latin1, as on a server whose default nobody changed."""
    run("ALTER TABLE core_user MODIFY display_name varchar(150) CHARACTER SET latin1 NOT NULL")
    yield
    run(
        "ALTER TABLE core_user MODIFY display_name varchar(150) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"
    )


def database_errors() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(databases=["default"]) if m.id in {"core.E004", "core.E005"}]


def test_each_connection_is_strict_read_committed_utf8mb4_with_a_statement_limit():
    # MariaDB before 11.1 and MySQL name the isolation and the statement limit differently.
    if connection.mysql_is_mariadb:
        (row,) = run("SELECT @@sql_mode, @@character_set_connection, @@tx_isolation, @@max_statement_time")
    else:
        (row,) = run("SELECT @@sql_mode, @@character_set_connection, @@transaction_isolation, @@max_execution_time")
    sql_mode, charset, isolation, limit = row
    assert "STRICT_ALL_TABLES" in sql_mode.split(",")
    assert (charset, isolation) == ("utf8mb4", "READ-COMMITTED")
    assert limit == (5.0 if connection.mysql_is_mariadb else 5000)


def test_the_test_database_passes_the_charset_check():
    assert database_errors() == []


def test_a_table_not_in_utf8mb4_is_refused_with_the_fix():
    run("CREATE TABLE legacy_latin1 (name varchar(10)) CHARACTER SET latin1")
    try:
        (error,) = database_errors()
    finally:
        run("DROP TABLE legacy_latin1")
    assert error.id == "core.E004"
    assert "legacy_latin1" in error.msg
    assert "CONVERT TO CHARACTER SET utf8mb4" in error.hint


def test_an_identifier_column_converted_to_a_case_insensitive_collation_is_refused_with_the_fix():
    run(
        "ALTER TABLE social_socialaccount MODIFY subject varchar(255) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"
    )
    try:
        (error,) = database_errors()
        run(error.hint)  # the fix it names, as an operator would paste it
        assert database_errors() == []
    finally:
        run(
            f"ALTER TABLE social_socialaccount MODIFY subject varchar(255) CHARACTER SET utf8mb4 "
            f"COLLATE {binary_collation(connection)} NOT NULL"
        )
    assert error.id == "core.E005"
    assert "social_socialaccount.subject" in error.msg


def test_a_name_latin1_cannot_hold_is_a_logged_500_not_an_outage(client, latin1_display_names, caplog):
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/auth/register",
            json={"email": "minji@example.com", "password": STRONG_PASSWORD, "display_name": "김민지"},
        )

    assert (response.status_code, response.json()["code"]) == (500, "server_error")
    assert [record.name for record in caplog.records if record.levelno >= logging.ERROR] == ["core.problems"]
    (record,) = [record for record in caplog.records if record.name == "core.problems"]
    assert record.exc_info is not None
    assert "1366" in str(record.exc_info[1])
    assert not [record for record in caplog.records if record.name == "core.outages"]
