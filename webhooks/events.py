"""The events other services can subscribe to, listed in one place, and the data each carries.

docs/webhooks.md documents every payload; each builder here is the one place its shape is made.
Ids are strings, as the access token's `sub` and `sid` carry them; event_publish adds `user_id` to each.
"""

import json
import uuid
from datetime import UTC
from enum import StrEnum

from django.utils import timezone

from core.models import User


class EventType(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    SESSION_STARTED = "session.started"
    SESSION_ENDED = "session.ended"
    IDENTITY_LINKED = "identity.linked"
    IDENTITY_UNLINKED = "identity.unlinked"


def event_id_new() -> str:
    """A webhook-id: "msg_" and 32 hex digits, one per event."""
    return f"msg_{uuid.uuid4().hex}"


def event_body(event_type: str, data: dict[str, object]) -> str:
    """The JSON body Standard Webhooks recommends: the type, when it happened (UTC, ISO 8601) and its data."""
    timestamp = timezone.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": data}, separators=(",", ":"))


def user_data(user: User, *, changed: tuple[str, ...] = ()) -> dict[str, object]:
    """The user as user.created and user.updated carry it; `changed` names what user.updated changed."""
    data: dict[str, object] = {
        "email": user.email,
        "email_verified": user.email_verified,
        "display_name": user.display_name,
    }
    if changed:
        data["changed"] = list(changed)
    return data


def session_data(session_id: uuid.UUID, *, reason: str | None = None) -> dict[str, object]:
    """session.started's data, and session.ended's with the reason (tokens.models.SessionEndReason)."""
    data: dict[str, object] = {"session_id": str(session_id)}
    if reason is not None:
        data["reason"] = str(reason)
    return data


def identity_data(*, identity_id: int, provider: str) -> dict[str, object]:
    return {"identity_id": str(identity_id), "provider": provider}
