"""The hand-built SQL: the refresh path's one read and one insert, each beside its ORM form, and the flush's batch.

A refresh runs both on every call, and the ORM compiled their SQL again each time, the largest costs of a
refresh once the database's own work is done (the numbers: docs/benchmarks.md, "What it took"). Here the
SQL is built once per connection from the models' metadata, so a field added to a model is read and written
here too, and the values go through the fields' own conversions.

Each fast function has its ORM form next to it (`*_orm`): the readable reference of what it does, which it
must match exactly. tests/unit/test_refresh_token_sql.py compares the two on the same rows, on SQLite and
PostgreSQL. The flush's batch (the last section) has no ORM form: the ORM's IN lookups cost most of a batch's
CPU; tests/unit/test_token_flush.py asserts what it deletes and keeps. The rest of the app reads and writes
refresh tokens through the ORM.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from core.models import User
from core.transactions import retry_on_conflict
from tokens.models import RefreshToken, Session

# --- the read: a token with its session, user, successor and successor's successor ----------------------


def refresh_token_get_orm(*, jti: UUID) -> RefreshToken | None:
    """The reference of refresh_token_get: the same instances, related objects cached the same way."""
    try:
        return RefreshToken.objects.select_related("session__user", "replaced_by__replaced_by").get(jti=jti)
    except RefreshToken.DoesNotExist:
        return None


def refresh_token_get(*, jti: UUID) -> RefreshToken | None:
    """What refresh_token_get_orm returns, in one query whose SQL is built once per connection.

    Related objects are cached on the instances as select_related caches them, so `token.session.user`,
    `token.is_used`, `token.replaced_by` and `token.replaced_by.is_used` make no further query.
    """
    db = connections[DEFAULT_DB_ALIAS]
    sql, parts = _refresh_token_read(db)
    with db.cursor() as cursor:
        cursor.execute(sql, [RefreshToken._meta.pk.get_db_prep_value(jti, db)])
        row = cursor.fetchone()
    if row is None:
        return None
    loaded, start = [], 0
    for part in parts:
        loaded.append(part.instance(row[start : start + len(part.fields)], db))
        start += len(part.fields)
    token, session, user, successor, successors_successor = loaded
    session.user = user
    token.session = session
    _cache_successor(token, successor)
    if successor is not None:
        _cache_successor(successor, successors_successor)
    return token


def _column_sql(db: BaseDatabaseWrapper, alias: str, field: "Field[Any, Any]") -> str:
    # A column of the table, not a reverse relation.
    assert field.concrete, field
    assert field.column is not None, field
    return f"{alias}.{db.ops.quote_name(field.column)}"


class _Columns:
    """One model's columns in a row: selected under a table alias, converted and loaded as Django would."""

    def __init__(self, model: type[Model], alias: str, db: BaseDatabaseWrapper) -> None:
        self.model = model
        self.fields = model._meta.concrete_fields
        self.attnames = [field.attname for field in self.fields]
        self.columns = [field.get_col(alias) for field in self.fields]
        # What the SQL compiler applies to a selected column: SQLite's text datetimes and UUIDs, its 0/1 booleans.
        self.converters: list[list[Callable[..., Any]]] = [
            [*db.ops.get_db_converters(column), *column.get_db_converters(db)] for column in self.columns
        ]
        self.sql = ", ".join(_column_sql(db, alias, field) for field in self.fields)

    def instance(self, values: Sequence[Any], db: BaseDatabaseWrapper) -> Any:  # the model's instance or None
        """The model instance, or None for the NULLs of an outer join that matched nothing."""
        if values[0] is None:
            return None
        converted = []
        for value, column, converters in zip(values, self.columns, self.converters, strict=True):
            for converter in converters:
                value = converter(value, column, db)
            converted.append(value)
        return self.model.from_db(db.alias, self.attnames, converted)


# Keyed by the connection: each thread has its own, whose converters and quoting these are.
@functools.lru_cache(maxsize=64)
def _refresh_token_read(db: BaseDatabaseWrapper) -> tuple[str, list[_Columns]]:
    """The SQL of refresh_token_get_orm's five-table join, and the columns of each table in its row."""
    parts = [
        _Columns(RefreshToken, "t", db),
        _Columns(Session, "s", db),
        _Columns(User, "u", db),
        _Columns(RefreshToken, "r", db),  # the successor (rotated_from = t)
        _Columns(RefreshToken, "r2", db),  # the successor's successor
    ]

    def column(alias: str, model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)  # a concrete field, not a reverse relation
        return _column_sql(db, alias, field)

    token, session, user = (db.ops.quote_name(model._meta.db_table) for model in (RefreshToken, Session, User))
    token_jti, successor_jti = column("t", RefreshToken, "jti"), column("r", RefreshToken, "jti")
    joins = [
        f"INNER JOIN {session} s ON {column('s', Session, 'id')} = {column('t', RefreshToken, 'session')}",
        f"INNER JOIN {user} u ON {column('u', User, 'id')} = {column('s', Session, 'user')}",
        f"LEFT OUTER JOIN {token} r ON {column('r', RefreshToken, 'rotated_from')} = {token_jti}",
        f"LEFT OUTER JOIN {token} r2 ON {column('r2', RefreshToken, 'rotated_from')} = {successor_jti}",
    ]
    selected = ", ".join(part.sql for part in parts)
    # Names from the models' metadata, quoted; the one value is a parameter.
    sql = f"SELECT {selected} FROM {token} t {' '.join(joins)} WHERE {token_jti} = %s"  # noqa: S608
    return sql, parts


def _cache_successor(token: RefreshToken, successor: RefreshToken | None) -> None:
    if successor is None:
        # What select_related records for a reverse one-to-one that matched nothing: is_used is False, no query.
        RefreshToken.replaced_by.related.set_cached_value(token, None)
    else:
        token.replaced_by = successor


# --- the insert: a new token row --------------------------------------------------------------------------


def refresh_token_insert_orm(token: RefreshToken) -> None:
    """The reference of refresh_token_insert: the ORM's INSERT of a new instance."""
    token.save(force_insert=True, using=DEFAULT_DB_ALIAS)


def refresh_token_insert(token: RefreshToken) -> None:
    """Saves a new instance as refresh_token_insert_orm does, with SQL built once per connection.

    Minus the pre_save and post_save signals, which nothing listens to for this model (a test says so).
    """
    db = connections[DEFAULT_DB_ALIAS]
    values = [field.get_db_prep_save(field.pre_save(token, True), db) for field in RefreshToken._meta.concrete_fields]
    with db.cursor() as cursor:
        cursor.execute(_refresh_token_insert_sql(db), values)
    token._state.adding, token._state.db = False, db.alias


# Keyed by the connection, as the read's SQL is.
@functools.lru_cache(maxsize=64)
def _refresh_token_insert_sql(db: BaseDatabaseWrapper) -> str:
    """The INSERT of refresh_token_insert_orm, from the model's columns."""
    quote = db.ops.quote_name
    columns = []
    for field in RefreshToken._meta.concrete_fields:
        assert field.column is not None  # every concrete field has one
        columns.append(quote(field.column))
    placeholders = ", ".join(["%s"] * len(columns))
    # Names from the model's metadata, quoted; the values are parameters.
    return f"INSERT INTO {quote(RefreshToken._meta.db_table)} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608


# --- the flush: one batch of expired tokens and the sessions they leave empty -------------------------------


@dataclass(frozen=True)
class FlushBatch:
    sessions: int
    tokens: int


@functools.lru_cache(maxsize=64)
def _flush_names(db: BaseDatabaseWrapper) -> dict[str, str]:
    """The quoted table and column names the flush's SQL uses, from the models."""
    quote = db.ops.quote_name
    names = {"tokens": quote(RefreshToken._meta.db_table), "sessions": quote(Session._meta.db_table)}
    for key, model, name in (
        ("jti", RefreshToken, "jti"),
        ("session", RefreshToken, "session"),
        ("expires_at", RefreshToken, "expires_at"),
        ("rotated_from", RefreshToken, "rotated_from"),
        ("session_pk", Session, "id"),
    ):
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        assert field.column is not None  # a concrete field
        names[key] = quote(field.column)
    return names


@retry_on_conflict  # each batch its own transaction: a batch that lost to a refresh runs again
def refresh_tokens_flush_batch(db: BaseDatabaseWrapper, *, until: Any, batch_size: int) -> tuple[FlushBatch, Any]:
    """Up to `batch_size` tokens expired at `until` or before, the newest first, and the sessions of
    theirs left without a token, deleted in one transaction of 5 queries; and where the next starts.

    Newest first, so that a token's successor is gone already (an earlier batch) or goes in
    this one, or is its chain's live head: only those heads need `rotated_from` cleared (what
    on_delete=SET_NULL does), one row per chain instead of one per token. MySQL checks foreign
    keys row by row, not at commit: there every successor is cleared first. Every statement is
    bounded by an index (expires_at, rotated_from, the primary keys, session_id) and binds at
    most 2 x batch_size parameters, so a batch costs the same whatever the tables hold. A
    session loses its last token only here, in the same transaction: none is left empty.

    Plain SQL on values as the driver returns them: the ORM's IN lookups prepared and
    converted each of the batch's ids three times, most of a batch's CPU.
    """
    n = _flush_names(db)
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(
            f"SELECT {n['jti']}, {n['session']}, {n['expires_at']} FROM {n['tokens']}"  # noqa: S608 (names from the models)
            f" WHERE {n['expires_at']} <= %s ORDER BY {n['expires_at']} DESC LIMIT %s",
            [until, batch_size],
        )
        rows = cursor.fetchall()
        if not rows:
            return FlushBatch(sessions=0, tokens=0), until
        jtis = [row[0] for row in rows]
        batch = ", ".join(["%s"] * len(jtis))
        successors = f"UPDATE {n['tokens']} SET {n['rotated_from']} = NULL WHERE {n['rotated_from']} IN ({batch})"  # noqa: S608
        if db.features.can_defer_constraint_checks:
            cursor.execute(f"{successors} AND {n['jti']} NOT IN ({batch})", jtis + jtis)
        else:
            cursor.execute(successors, jtis)
        cursor.execute(f"DELETE FROM {n['tokens']} WHERE {n['jti']} IN ({batch})", jtis)  # noqa: S608
        tokens_deleted = cursor.rowcount
        session_ids = list(dict.fromkeys(row[1] for row in rows))
        cursor.execute(
            f"DELETE FROM {n['sessions']} WHERE {n['session_pk']} IN ({', '.join(['%s'] * len(session_ids))})"  # noqa: S608
            f" AND NOT EXISTS (SELECT 1 FROM {n['tokens']} WHERE {n['tokens']}.{n['session']}"
            f" = {n['sessions']}.{n['session_pk']})",
            session_ids,
        )
        sessions_deleted = cursor.rowcount
    # Inclusive: tokens expiring at the same instant as the batch's oldest may remain.
    return FlushBatch(sessions=sessions_deleted, tokens=tokens_deleted), rows[-1][2]
