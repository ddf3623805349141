"""HTTP glue for tokens: each endpoint parses, calls one service, returns a schema."""

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Form, Query, Router, Status

from core.api import READ_METHODS
from core.schemas import problem_responses
from core.throttling import token_throttle
from tokens import introspection, revocation, selectors, services, transport
from tokens.auth import PrincipalRequest, bearer_token, jwt_auth
from tokens.errors import OAuthInvalidRequest
from tokens.introspection import introspection_throttle
from tokens.models import SessionEndReason
from tokens.schemas import (
    AuthorizationServerMetadataOut,
    ClaimsOut,
    IntrospectionOut,
    JwksOut,
    RefreshIn,
    SessionPageOut,
    SessionsEndedOut,
    TokenFormIn,
    TokenPairOut,
    VerifyIn,
    WhoAmIOut,
)

auth_router = Router(tags=["tokens"])
# Mounted at /.well-known/ (RFC 8615), outside /api/: where verifiers look for them.
well_known_router = Router(tags=["discovery"])


@auth_router.post(
    "/token/refresh",
    auth=transport.sign_in_guard,
    response={200: TokenPairOut, **problem_responses(401, 403, 422, 429)},
    throttle=token_throttle,
)
def token_refresh(request: HttpRequest, response: HttpResponse, body: RefreshIn | None = None) -> dict[str, Any]:
    """Rotates the refresh token (from the body, or the cookie with its CSRF header): a new pair."""
    refresh = transport.refresh_token_require(request, body_refresh=body.refresh if body else None)
    return transport.token_pair_out(request, response, services.token_pair_refresh(refresh=refresh))


@auth_router.post(
    "/token/verify", response={200: ClaimsOut, **problem_responses(401, 422, 429)}, throttle=token_throttle
)
def token_verify(request: HttpRequest, body: VerifyIn) -> dict[str, Any]:
    """The claims of a valid access or refresh token."""
    return services.token_verify(token=body.token)


@auth_router.get("/whoami", auth=jwt_auth, response={200: WhoAmIOut, **problem_responses(401, 429)})
def whoami(request: PrincipalRequest) -> WhoAmIOut:
    """The identity in the access token, verified with zero database queries."""
    principal = request.auth
    # A schema instance, which Ninja serialises as it is: a Principal would go through Ninja's
    # attribute getter and a second validation, a tenth of the request. Constructed without
    # validating: the Principal's fields already have the schema's types, and Schema's
    # validation would cost more again (docs/benchmarks.md).
    return WhoAmIOut.model_construct(
        user_id=principal.user_id, session_id=principal.session_id, expires_at=principal.expires_at
    )


@auth_router.post(
    "/logout",
    auth=transport.csrf_guard,
    response={204: None, **problem_responses(401, 403, 422, 429)},
    throttle=token_throttle,
)
def logout(request: HttpRequest, response: HttpResponse, body: RefreshIn | None = None) -> Status[None]:
    """Ends the session of the refresh token (body or cookie) whatever the access token's state; else the bearer's."""
    services.session_logout(
        refresh=transport.refresh_token_read(request, body_refresh=body.refresh if body else None),
        access=bearer_token(request),
    )
    transport.refresh_cookie_clear(request, response)
    return Status(204, None)


@auth_router.post("/logout-all", auth=jwt_auth, response={200: SessionsEndedOut, **problem_responses(401, 429)})
def logout_all(request: PrincipalRequest, response: HttpResponse) -> dict[str, int]:
    """Ends every session of the user, on every device."""
    ended = services.session_end_all(user_id=request.auth.user_id)
    transport.refresh_cookie_clear(request, response)
    return {"sessions_ended": ended}


@auth_router.get("/sessions", auth=jwt_auth, response={200: SessionPageOut, **problem_responses(400, 401, 422, 429)})
def sessions(
    request: PrincipalRequest,
    limit: int = Query(selectors.SESSION_PAGE_DEFAULT, ge=1, le=selectors.SESSION_PAGE_MAX),
    cursor: str | None = Query(None, description="`next` of the previous page."),
) -> dict[str, Any]:
    """A page of the user's live sessions, newest sign-in first; `current` marks the one of this token."""
    return selectors.session_list(
        user_id=request.auth.user_id,
        current_session_id=request.auth.session_id,
        limit=limit,
        cursor=cursor,
    )


@auth_router.delete("/sessions/{session_id}", auth=jwt_auth, response={204: None, **problem_responses(401, 404, 429)})
def session_delete(request: PrincipalRequest, session_id: UUID) -> Status[None]:
    """Ends one of the user's sessions (404 for a session that is not theirs)."""
    services.session_end(session_id=session_id, user_id=request.auth.user_id, reason=SessionEndReason.ENDED_BY_USER)
    return Status(204, None)


@auth_router.post(
    "/introspect",
    auth=introspection.introspection_client_authenticate,
    response={200: IntrospectionOut, **problem_responses(400, 401, 429)},
    throttle=introspection_throttle,
    exclude_none=True,  # inactive is `{"active": false}` alone (RFC 7662 §2.2)
)
def token_introspect(request: HttpRequest, response: HttpResponse, body: Form[TokenFormIn]) -> IntrospectionOut:
    """RFC 7662, for resource servers (HTTP Basic, JWT_INTROSPECTION_CLIENTS): `{"active": false}`, or the
    claims of a live access token. A logout shows at once. The answer is RFC 7662's JSON, not a problem."""
    token = _form_token(request, body, purpose="introspect")
    response["Cache-Control"] = "no-store"
    # A schema instance, which Ninja serialises as it is: validated (from a dict, or by the schema's
    # constructor) it would keep the declared fields only, and the extra claims would be lost.
    return IntrospectionOut.model_construct(**introspection.token_introspect(token=token))


@auth_router.post(
    "/revoke",
    auth=transport.csrf_guard,
    response={200: None, **problem_responses(400, 403, 429)},
    throttle=token_throttle,
)
def token_revoke(request: HttpRequest, body: Form[TokenFormIn]) -> HttpResponse:
    """RFC 7009: ends the session of the access or refresh token sent; 200 whatever the token (even unknown)."""
    revocation.token_revoke(token=_form_token(request, body, purpose="revoke"))
    return HttpResponse(status=200)


def _form_token(request: HttpRequest, body: TokenFormIn, *, purpose: str) -> str:
    # RFC 6749 §3.1: a parameter sent twice is invalid_request, not "the last one wins".
    if not body.token or len(request.POST.getlist("token")) > 1:
        raise OAuthInvalidRequest(_("Send the token to %(purpose)s as `token`, once.") % {"purpose": purpose})
    return body.token


@well_known_router.api_operation(
    READ_METHODS, "/jwks.json", response={200: JwksOut, **problem_responses(503)}, url_name="jwks"
)
def jwks(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    """RFC 7517: the public keys that verify this API's tokens. Empty with HMAC: its key is a secret."""
    response["Cache-Control"] = selectors.discovery_cache_control()
    return selectors.jwks()


@well_known_router.api_operation(READ_METHODS, "/oauth-authorization-server", response=AuthorizationServerMetadataOut)
def authorization_server_metadata(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    """RFC 8414: the issuer, where its keys are, and this API's token and revocation endpoints."""
    response["Cache-Control"] = selectors.discovery_cache_control()
    return selectors.authorization_server_metadata()
