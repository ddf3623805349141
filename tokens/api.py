"""HTTP glue for tokens: each endpoint parses, calls one service, returns a schema."""

from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Status

from core.schemas import UserOut, problem_responses
from core.throttling import token_throttle
from tokens import selectors, services
from tokens.auth import jwt_auth, jwt_auth_for_logout, session_throttle
from tokens.errors import NotAuthenticated
from tokens.models import SessionEndReason
from tokens.schemas import (
    ClaimsOut,
    LogoutIn,
    RefreshIn,
    SessionOut,
    SessionsEndedOut,
    TokenPairOut,
    VerifyIn,
    WhoAmIOut,
)

auth_router = Router(tags=["tokens"])
users_router = Router(tags=["users"], auth=jwt_auth)


def _no_bearer(request: HttpRequest) -> bool:
    """Lets /logout through without a bearer token, for clients that only hold a refresh token."""
    return True


@auth_router.post(
    "/token/refresh", response={200: TokenPairOut, **problem_responses(401, 422, 429)}, throttle=token_throttle
)
def token_refresh(request, body: RefreshIn):
    """Rotates the refresh token: the presented one is blacklisted, a new pair returned."""
    return services.token_pair_refresh(refresh=body.refresh)


@auth_router.post(
    "/token/verify", response={200: ClaimsOut, **problem_responses(401, 422, 429)}, throttle=token_throttle
)
def token_verify(request, body: VerifyIn):
    """The claims of a valid access or refresh token."""
    return services.token_verify(token=body.token)


@auth_router.get("/whoami", auth=jwt_auth, response={200: WhoAmIOut, **problem_responses(401, 429)})
def whoami(request):
    """The identity in the access token, verified with zero database queries."""
    return request.auth


@auth_router.post(
    "/logout",
    auth=[jwt_auth_for_logout, _no_bearer],
    response={204: None, **problem_responses(401, 422, 429)},
    throttle=[session_throttle, token_throttle],
)
def logout(request, body: LogoutIn | None = None):
    """Ends the session of the bearer token, or of `refresh` in the body: all its tokens die."""
    refresh = body.refresh if body else None
    if isinstance(request.auth, services.Principal):
        services.session_end(session_id=request.auth.session_id, user_id=request.auth.user_id)
    elif not refresh:
        raise NotAuthenticated("Send a bearer access token or a refresh token in the body.")
    if refresh:
        services.session_end_by_refresh(refresh=refresh)
    return Status(204, None)


@auth_router.post("/logout-all", auth=jwt_auth, response={200: SessionsEndedOut, **problem_responses(401, 429)})
def logout_all(request):
    """Ends every session of the user, on every device."""
    return {"sessions_ended": services.session_end_all(user_id=request.auth.user_id)}


@auth_router.get("/sessions", auth=jwt_auth, response={200: list[SessionOut], **problem_responses(401, 429)})
def sessions(request):
    """The user's live sessions; `current` marks the one of this token."""
    return selectors.session_list(user_id=request.auth.user_id, current_session_id=request.auth.session_id)


@auth_router.delete("/sessions/{session_id}", auth=jwt_auth, response={204: None, **problem_responses(401, 404, 429)})
def session_delete(request, session_id: UUID):
    """Ends one of the user's sessions (404 for a session that is not theirs)."""
    services.session_end(session_id=session_id, user_id=request.auth.user_id, reason=SessionEndReason.ENDED_BY_USER)
    return Status(204, None)


@users_router.get("/me", response={200: UserOut, **problem_responses(401, 429)})
def me(request):
    """The signed-in user's profile (one query)."""
    return selectors.user_get(user_id=request.auth.user_id)
