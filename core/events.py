"""The auth event log: one JSON line per sign-in, refresh, reuse, logout, failure or throttle.

An operator follows a client through it by `request_id` (the request's X-Request-ID,
echoed in the response) and `client_ip` (core.clients), which RequestContextMiddleware
puts in context for the request, so services emit events without knowing the request.

What a line may hold is the signature of `emit`: names and ids, never free-form values.
No token, code, code verifier, client secret or password has a field to go into. A failed
sign-in names its `target` as a keyed hash of the canonical address (`email_target`), never
the address: one account attacked from many IPs shows as one target.
"""

import contextvars
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from django.utils.crypto import salted_hmac

# Its own logger (and handler, in settings.LOGGING): events are kept whatever LOG_LEVEL says.
logger = logging.getLogger("auth.events")


class AuthEvent(StrEnum):
    SIGN_IN = "sign_in"
    REFRESH = "refresh"
    REUSE_DETECTED = "reuse_detected"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_DELETED = "session_deleted"
    SESSION_EVICTED = "session_evicted"
    PROVIDER_FAILURE = "provider_failure"
    THROTTLED = "throttled"
    # WebAuthn (passkeys/): a credential added or removed, and every assertion, a sign-in's or a second factor's.
    WEBAUTHN_REGISTERED = "webauthn_registered"
    WEBAUTHN_DELETED = "webauthn_deleted"
    WEBAUTHN_ASSERTION = "webauthn_assertion"
    # The second factor (mfa): `method` says which (totp, recovery_code, password); never a code.
    MFA_REQUIRED = "mfa_required"
    MFA_VERIFY = "mfa_verify"
    MFA_FACTOR_ADDED = "mfa_factor_added"
    MFA_FACTOR_REMOVED = "mfa_factor_removed"
    MFA_RECOVERY_CODES_CREATED = "mfa_recovery_codes_created"
    MFA_RESET = "mfa_reset"
    REAUTHENTICATE = "reauthenticate"


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str


_request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "request_context", default=None
)


class request_context:  # lowercase, like contextlib.suppress: used as `with request_context(...)`
    """Events emitted inside carry this request's id and client IP.

    A class rather than @contextmanager: every request enters it, and the generator machinery
    costs twice as much (docs/benchmarks.md).
    """

    __slots__ = ("_context", "_token")

    def __init__(self, *, request_id: str, client_ip: str) -> None:
        self._context = RequestContext(request_id=request_id, client_ip=client_ip)

    def __enter__(self) -> None:
        self._token = _request_context.set(self._context)

    def __exit__(self, *exc_info: object) -> None:
        _request_context.reset(self._token)


def email_target(address: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY) of a canonical address: stable, and unguessable from a list of addresses."""
    return salted_hmac("core.events.email_target", address, algorithm="sha256").hexdigest()[:32]


def emit(
    event: AuthEvent,
    *,
    outcome: str,
    user_id: int | None = None,
    session_id: uuid.UUID | None = None,
    provider: str | None = None,
    created: bool | None = None,
    sessions_ended: int | None = None,
    scope: str | None = None,
    target: str | None = None,
    method: str | None = None,
) -> None:
    """Logs one event; `outcome` is "success", what happened instead, or a problem's code."""
    context = _request_context.get()
    fields = {
        "user_id": user_id,
        "session_id": str(session_id) if session_id else None,
        "provider": provider,
        "created": created,
        "sessions_ended": sessions_ended,
        "scope": scope,
        "target": target,
        "method": method,
    }
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": str(event),
        "outcome": outcome,
        "request_id": context.request_id if context else None,
        "client_ip": context.client_ip if context else None,
        **{name: value for name, value in fields.items() if value is not None},
    }
    logger.info(json.dumps(line, separators=(",", ":")))
