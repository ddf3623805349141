"""HTTP glue for WebAuthn: each endpoint parses, calls one service, returns a schema."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.throttling import BaseThrottle

from accounts.api import sign_in_out
from accounts.devices import DEVICE_COOKIE
from accounts.schemas import SignInOut
from core.clients import client_ip, client_network, client_user_agent
from core.cookies import cookie_get
from core.models import User
from core.schemas import problem_responses
from core.throttling import Throttle
from passkeys import selectors, services
from passkeys.schemas import (
    AssertionIn,
    CeremonyOptionsOut,
    CredentialCreatedOut,
    CredentialOut,
    RegisterIn,
    RegisterOptionsIn,
)
from tokens import transport
from tokens.auth import PrincipalRequest, jwt_auth

auth_router = Router(tags=["passkeys"])
users_router = Router(tags=["passkeys"], auth=jwt_auth)

# Anyone may ask for sign-in options (each makes a row) and answer them: per client IP.
_sign_in_throttles: list[BaseThrottle] = [Throttle("webauthn", client_network)]


def _user(request: PrincipalRequest) -> User:
    return User.objects.get(pk=request.auth.user_id)


@users_router.get("/me/webauthn", response={200: list[CredentialOut], **problem_responses(401, 429)})
def credentials(request: PrincipalRequest) -> list[selectors.CredentialRow]:
    """The user's WebAuthn credentials (passkeys and security keys), oldest first."""
    return selectors.credentials_list(user=request.auth.user_id)


@users_router.post(
    "/me/webauthn/register/options", response={200: CeremonyOptionsOut, **problem_responses(401, 403, 404, 422, 429)}
)
def register_options(request: PrincipalRequest, body: RegisterOptionsIn | None = None) -> dict[str, Any]:
    """Options for navigator.credentials.create(); `"passkey": true` for one that signs in alone.
    Needs a recent sign-in, at aal2 for a user with a factor (403 `reauthentication_required`)."""
    challenge_id, options = services.registration_options(
        user=_user(request), principal=request.auth, passkey=bool(body and body.passkey)
    )
    return {"challenge_id": challenge_id, "options": options}


@users_router.post(
    "/me/webauthn/register", response={201: CredentialCreatedOut, **problem_responses(400, 401, 404, 409, 422, 429)}
)
def register(request: PrincipalRequest, body: RegisterIn) -> Status[dict[str, int]]:
    """Stores the credential the authenticator made for the options of `challenge_id`."""
    stored = services.registration_verify(
        user=_user(request),
        principal=request.auth,
        challenge_id=body.challenge_id,
        credential=body.credential,
        name=body.name,
    )
    return Status(201, {"id": stored.pk})


@users_router.delete("/me/webauthn/{credential_id}", response={204: None, **problem_responses(401, 403, 404, 429)})
def credential_delete(request: PrincipalRequest, credential_id: int) -> Status[None]:
    """Removes one of the user's credentials (404 for another user's); needs a recent aal2 sign-in."""
    services.credential_delete(user=_user(request), principal=request.auth, credential_id=credential_id)
    return Status(204, None)


@auth_router.post(
    "/webauthn/options", response={200: CeremonyOptionsOut, **problem_responses(404, 429)}, throttle=_sign_in_throttles
)
def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    """Options for a passkey sign-in (discoverable credentials; also for conditional mediation, autofill)."""
    challenge_id, options = services.assertion_options(user=None)
    return {"challenge_id": challenge_id, "options": options}


@auth_router.post(
    "/webauthn",
    response={200: SignInOut, **problem_responses(400, 401, 403, 404, 422, 429)},
    throttle=_sign_in_throttles,
    auth=transport.sign_in_guard,
)
def sign_in(request: HttpRequest, response: HttpResponse, body: AssertionIn) -> dict[str, Any]:
    """Signs in with a passkey: the assertion for the options of `challenge_id` → a token pair and a device token."""
    sign_in = services.passkey_sign_in(
        challenge_id=body.challenge_id,
        credential=body.credential,
        device_token=body.device_token or cookie_get(request, DEVICE_COOKIE),
        user_agent=client_user_agent(request),
        ip=client_ip(request),
    )
    return sign_in_out(request, response, sign_in)
