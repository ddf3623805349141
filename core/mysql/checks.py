"""What a MySQL or MariaDB database must be for this project, checked at `migrate` and `check --database`.

utf8mb4 everywhere: a database or table created in latin1 (the default of a server nobody
configured) cannot store a Korean display name, and every sign-in that brings one fails. And
the identifier columns in their binary collation (core.fields): `ALTER TABLE ... CONVERT TO
CHARACTER SET`, the usual fix for the first problem, resets them to the table's collation, and
subjects differing only in case would then be one identity again.
"""

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from core.fields import _BinaryCollation, binary_collation

CHARSET = "utf8mb4"
COLLATION = "utf8mb4_unicode_ci"


@register(Tags.database)
def mysql_charset_check(app_configs: Any, databases: Iterable[str] | None = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor == "mysql":
            errors += _charset_errors(connection) + _identifier_collation_errors(connection)
    return errors


def _charset_errors(connection: BaseDatabaseWrapper) -> list[CheckMessage]:
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()"
        )
        (database_charset,) = cursor.fetchone()
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_COLLATION NOT LIKE %s "
            "UNION SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND CHARACTER_SET_NAME <> %s ORDER BY 1",
            [f"{CHARSET}\\_%", CHARSET],
        )
        tables = [table for (table,) in cursor.fetchall()]
    errors: list[CheckMessage] = []
    if database_charset != CHARSET:
        errors.append(
            Error(
                f"The database {name} has the character set {database_charset}, not {CHARSET}: tables "
                "created in it cannot store every name a provider sends (Hangul, emoji).",
                hint=f"ALTER DATABASE `{name}` CHARACTER SET {CHARSET} COLLATE {COLLATION}; "
                "(docs/operations.md, MySQL and MariaDB)",
                id="core.E004",
            )
        )
    if tables:
        errors.append(
            Error(
                f"These tables of {name} are not all in {CHARSET}: {', '.join(tables)}.",
                hint=f"For each: ALTER TABLE `<table>` CONVERT TO CHARACTER SET {CHARSET} COLLATE {COLLATION}; "
                "then run this check again, which names the identifier columns to set back to binary.",
                id="core.E004",
            )
        )
    return errors


def _identifier_collation_errors(connection: BaseDatabaseWrapper) -> list[CheckMessage]:
    """The columns of core.fields' binary fields whose collation is not the binary one."""
    expected = binary_collation(connection)
    fields = [
        field
        for model in apps.get_models()
        for field in model._meta.local_concrete_fields
        if isinstance(field, _BinaryCollation)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL"
        )
        collations = {(table, column): collation for table, column, collation in cursor.fetchall()}
    errors: list[CheckMessage] = []
    for field in fields:
        table, column = field.model._meta.db_table, field.column
        collation = collations.get((table, column))
        if collation is None or collation == expected:
            continue  # not migrated yet, or right
        null = "NULL" if field.null else "NOT NULL"
        errors.append(
            Error(
                f"{table}.{column} has the collation {collation}: it must compare byte for byte ({expected}), "
                "or values differing only in case are taken for one.",
                hint=f"ALTER TABLE `{table}` MODIFY `{column}` {field.db_type(connection)} "
                f"CHARACTER SET {CHARSET} COLLATE {expected} {null};",
                id="core.E005",
            )
        )
    return errors
