"""Read-only queries of the tokens app."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.core import signing
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tokens import fastsql, keys
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
        raise CursorInvalid(_("The cursor was altered or not made by this API: list again without it.")) from None
    if cursor_user_id != user_id:
        raise CursorInvalid(_("The cursor belongs to another user's session list."))
    return datetime.fromisoformat(created_at), UUID(session_id)


def session_sign_in(*, session_id: UUID) -> tuple[datetime, str] | None:
    """When the session's user last proved who they are (a sign-in or a reauthentication; refreshes do
    not move it), and the assurance level reached (`acr`); None for an unknown session."""
    return Session.objects.filter(id=session_id).values_list("auth_time", "acr").first()


def jwks() -> dict:
    """The public keys of the set (current and retired); HMAC keys are secrets and never listed."""
    return keys.key_set_fresh().jwks()


def discovery_cache_control() -> str:
    # How long verifiers should cache the set: shorter than JWT_KEY_ACTIVATION_DELAY (tokens.E001),
    # so that one honouring it fetches a new key before the key signs (docs/keys.md, per verifier).
    return f"public, max-age={int(token_settings().jwks_max_age.total_seconds())}"


def authorization_server_metadata() -> dict:
    """RFC 8414 metadata; URLs on JWT_ISSUER, which is this API's public address."""
    base = token_settings().issuer.rstrip("/")
    return {
        "issuer": token_settings().issuer,
        "jwks_uri": base + reverse("well-known:jwks"),
        "token_endpoint": base + reverse("api:token_refresh"),
        "revocation_endpoint": base + reverse("api:token_revoke"),
        "introspection_endpoint": base + reverse("api:token_introspect"),
        # Sign-in is a social login exchanged by this API, not an OAuth grant a client makes
        # here, so refresh is the only grant. RFC 8414 requires a non-empty response type list;
        # "none" (OAuth 2.0 Multiple Response Type Encoding Practices §4) is the one that issues
        # no credential from an authorization endpoint, which this API does not have (docs/keys.md).
        "grant_types_supported": ["refresh_token"],
        "response_types_supported": ["none"],
        # Public clients: the refresh token itself is the credential, no client authentication.
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        # Resource servers, with the credentials of JWT_INTROSPECTION_CLIENTS.
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "service_documentation": base + reverse("api:openapi-view"),
    }


def refresh_token_get(*, jti: UUID) -> RefreshToken | None:
    """The refresh token with its session, the session's user, its successor and that one's: one query.

    `token.session.user`, `token.is_used`, `token.replaced_by` and `token.replaced_by.is_used` make no
    further query. The refresh path's hand-built SQL (tokens.fastsql, beside its ORM form).
    """
    return fastsql.refresh_token_get(jti=jti)
