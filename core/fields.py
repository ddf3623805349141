"""Text columns compared byte for byte on every database.

An OpenID Connect `sub`, a key's `kid`, a canonical email are exact strings: `AbC` and `abc`
are two identities, two keys, and for emails, the second is not canonical. PostgreSQL and
SQLite compare text that way by default. MySQL and MariaDB compare by the column's collation,
whose default ignores case (and, in the PAD SPACE ones, trailing spaces), so a unique
constraint would merge two identities and a lookup by one would find the other. These fields
give the column a binary NO PAD collation there, and leave the other databases as they are.

UUIDs (session ids, token ids) need none of this: Django turns every value into a uuid.UUID
and stores its lower-case hex, so two spellings of one never reach the database.
"""

import copy
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def binary_collation(connection: BaseDatabaseWrapper) -> str:
    """utf8mb4, compared by code point and with trailing spaces significant, on either server."""
    # MariaDB has no 0900 collations before 11.4; MySQL has no nopad_bin.
    return "utf8mb4_nopad_bin" if connection.mysql_is_mariadb else "utf8mb4_0900_bin"  # type: ignore[attr-defined]


class _BinaryCollation:
    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params = super().db_parameters(connection)  # type: ignore[misc]
        if connection.vendor == "mysql":
            params["collation"] = binary_collation(connection)
        return params


class IdentifierField(_BinaryCollation, models.CharField):
    """An opaque identifier (a provider's subject, a key's `kid`): equal only if byte for byte equal."""


class CanonicalEmailField(_BinaryCollation, models.EmailField):
    """An email stored in canonical form (core.emails), so that equality is exact, and the check
    that it is lower case (core.models.User) sees an upper-case letter on MySQL too."""


class PartialIndex(models.Index):
    """An index of the rows `where` selects where the database has partial indexes (PostgreSQL,
    SQLite), and of every row where it has none (MySQL, MariaDB).

    Django's own `condition` does the same on MySQL, with a warning at every `migrate`
    (models.W037); the full index serves the same range scans, since a condition such as
    `IS NOT NULL` only keeps rows out that those scans never read.
    """

    def __init__(self, *, where: models.Q, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.where = where

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        return path, args, {**kwargs, "where": self.where}

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if not schema_editor.connection.features.supports_partial_indexes:
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        partial = copy.copy(self)
        partial.condition = self.where
        return models.Index.create_sql(partial, model, schema_editor, using=using, **kwargs)
