"""Read-only queries of the tokens app."""

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core import signing
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, Q
from django.urls import reverse

from core.models import User
from tokens import keys
from tokens.conf import token_settings
from tokens.errors import CursorInvalid
from tokens.models import RefreshToken, Session

# GET /api/auth/sessions: `limit`'s default and bound.
SESSION_PAGE_DEFAULT = 50
SESSION_PAGE_MAX = 100
_CURSOR_SALT = "tokens.session_list.cursor"


def session_list(
    *, user_id: int, current_session_id: UUID, limit: int = SESSION_PAGE_DEFAULT, cursor: str | None = None
) -> dict[str, Any]:
    """A page of the user's live sessions, newest sign-in first, and the cursor of the next one: one query.

    Ordered by (created_at, id), which no refresh moves, so a session never skips a page or
    shows on two while a client reads the list. The cursor is the last item's place, signed
    for this user (CursorInvalid otherwise). The user's sessions come from the (user,
    ended_at) index, each one's activity from one probe of its newest token, so a page costs
    the same whatever the tables hold (docs/benchmarks.md).
    """
    sessions = Session.objects.live().filter(user_id=user_id).order_by("-created_at", "-id")
    if cursor is not None:
        created_at, session_id = _cursor_read(cursor, user_id=user_id)
        sessions = sessions.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=session_id))
    page = list(sessions[: limit + 1])
    items = [
        {
            "id": session.id,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "expires_at": session.refresh_expires_at,
            "user_agent": session.user_agent,
            "ip": session.ip,
            "current": session.id == current_session_id,
        }
        for session in page[:limit]
    ]
    more = len(page) > limit
    return {"items": items, "next": _cursor_make(page[limit - 1], user_id=user_id) if more else None}


def _cursor_make(session: Session, *, user_id: int) -> str:
    return signing.dumps([user_id, session.created_at.isoformat(), session.id.hex], salt=_CURSOR_SALT)


def _cursor_read(cursor: str, *, user_id: int) -> tuple[datetime, UUID]:
    try:
        cursor_user_id, created_at, session_id = signing.loads(cursor, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise CursorInvalid("The cursor was altered or not made by this API: list again without it.") from None
    if cursor_user_id != user_id:
        raise CursorInvalid("The cursor belongs to another user's session list.")
    return datetime.fromisoformat(created_at), UUID(session_id)


def session_started_at(*, session_id: UUID):
    """When the session's sign-in happened (refreshes do not move it); None for an unknown session."""
    return Session.objects.filter(id=session_id).values_list("created_at", flat=True).first()


def jwks() -> dict:
    """The public keys of the set (current and retired); HMAC keys are secrets and never listed."""
    return keys.key_set_fresh().jwks()


def discovery_cache_control() -> str:
    # No verifier may hold a copy longer than this process would (JWT_KEY_SET_MAX_AGE),
    # far shorter than the time a retired key keeps verifying (docs/keys.md).
    return f"public, max-age={int(token_settings().key_set_max_age.total_seconds())}"


def authorization_server_metadata() -> dict:
    """RFC 8414 metadata; URLs on JWT_ISSUER, which is this API's public address."""
    base = token_settings().issuer.rstrip("/")
    return {
        "issuer": token_settings().issuer,
        "jwks_uri": base + reverse("well-known:jwks"),
        "token_endpoint": base + reverse("api:token_refresh"),
        "revocation_endpoint": base + reverse("api:logout"),
        # Sign-in is a social login exchanged by this API, not an OAuth grant a client makes
        # here, so refresh is the only grant and no response type is offered (docs/keys.md).
        "grant_types_supported": ["refresh_token"],
        "response_types_supported": [],
        # Public clients: the refresh token itself is the credential, no client authentication.
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "service_documentation": base + reverse("api:openapi-view"),
    }


# --- the refresh path's one read ---------------------------------------------------------------


def _column_sql(db: BaseDatabaseWrapper, alias: str, field: Any) -> str:
    assert field.concrete, field  # a column of the table, not a reverse relation
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
    """The SQL of RefreshToken.objects.select_related("session__user", "replaced_by__replaced_by"), built once.

    The ORM compiled that five-table join again on every refresh: a third of a refresh's CPU,
    the most of any one step (docs/benchmarks.md). The columns come from the models, so a
    field added to one is read here too.
    """
    parts = [
        _Columns(RefreshToken, "t", db),
        _Columns(Session, "s", db),
        _Columns(User, "u", db),
        _Columns(RefreshToken, "r", db),  # the successor (rotated_from = t)
        _Columns(RefreshToken, "r2", db),  # the successor's successor
    ]

    def column(alias: str, model: type[Model], name: str) -> str:
        return _column_sql(db, alias, model._meta.get_field(name))

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


def refresh_token_get(*, jti: UUID) -> RefreshToken | None:
    """The refresh token with its session, the session's user, its successor and that one's: one query.

    Related objects are cached on the instances as select_related would cache them, so
    `token.session.user`, `token.is_used`, `token.replaced_by` and `token.replaced_by.is_used`
    make no further query.
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


def _cache_successor(token: RefreshToken, successor: RefreshToken | None) -> None:
    if successor is None:
        # What select_related records for a reverse one-to-one that matched nothing: is_used is False, no query.
        RefreshToken.replaced_by.related.set_cached_value(token, None)
    else:
        token.replaced_by = successor
