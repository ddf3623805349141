"""Read-only queries of the tokens app."""

from uuid import UUID

from django.urls import reverse

from tokens import keys
from tokens.conf import token_settings
from tokens.models import Session


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


