"""Read-only queries of the tokens app."""

from uuid import UUID

from core.models import User
from tokens.errors import TokenRevoked
from tokens.models import Session


def user_get(*, user_id: int) -> User:
    """The user behind a principal: one query. A deleted or deactivated user ends the token's use."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise TokenRevoked("The user of this token no longer exists or is disabled.")
    return user


def session_list(*, user_id: int, current_session_id: UUID) -> list[dict]:
    sessions = Session.objects.live().filter(user_id=user_id).order_by("-last_used_at")
    return [
        {
            "id": session.id,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "expires_at": session.refresh_expires_at,
            "user_agent": session.user_agent,
            "ip": session.ip,
            "current": session.id == current_session_id,
        }
        for session in sessions
    ]
