"""HTTP glue for second factors: each endpoint parses, calls one service, returns a schema."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from accounts.api import sign_in_out
from core.clients import client_ip, client_user_agent
from core.cookies import cookie_delete, cookie_get
from core.schemas import problem_responses
from core.throttling import sign_in_throttles
from mfa import selectors, services
from mfa.errors import BINDING_COOKIE
from mfa.schemas import (
    CodeIn,
    MfaEnrollConfirmIn,
    MfaEnrolledOut,
    MfaSignInOut,
    MfaStatusOut,
    MfaTokenIn,
    MfaVerifyIn,
    ReauthenticateIn,
    RecoveryCodesOut,
    TotpBeginOut,
)
from passkeys.schemas import CeremonyOptionsOut
from tokens import transport
from tokens.auth import PrincipalRequest, jwt_auth
from tokens.schemas import TokenPairOut

auth_router = Router(tags=["mfa"])
users_router = Router(tags=["mfa"], auth=jwt_auth)


def _binding(request: HttpRequest) -> str | None:
    return cookie_get(request, BINDING_COOKIE)


def _second_step_done(request: HttpRequest, response: HttpResponse) -> None:
    cookie_delete(response, request, name=BINDING_COOKIE, samesite="Strict")


@users_router.get("/me/mfa", response={200: MfaStatusOut, **problem_responses(401, 429)})
def mfa_status(request: PrincipalRequest) -> dict[str, Any]:
    """The user's second factors."""
    return selectors.mfa_status(user_id=request.auth.user_id)


@users_router.post("/me/mfa/totp", response={200: TotpBeginOut, **problem_responses(401, 403, 409, 429)})
def totp_begin(request: PrincipalRequest) -> dict[str, str]:
    """A new TOTP secret for an authenticator app, pending until a first code confirms it; a user
    with a factor needs a recent aal2 sign-in (403 `reauthentication_required`)."""
    return services.totp_begin(user_id=request.auth.user_id, principal=request.auth)


@users_router.post("/me/mfa/totp/confirm", response={200: RecoveryCodesOut, **problem_responses(401, 403, 404, 429)})
def totp_confirm(request: PrincipalRequest, body: CodeIn) -> dict[str, list[str]]:
    """Confirms the pending TOTP with a code from the app; answers ten recovery codes, shown this once."""
    codes = services.totp_confirm(user_id=request.auth.user_id, principal=request.auth, code=body.code)
    return {"recovery_codes": codes}


@users_router.delete("/me/mfa/totp", response={204: None, **problem_responses(401, 403, 404, 429)})
def totp_delete(request: PrincipalRequest) -> Status[None]:
    """Removes TOTP and the recovery codes; needs a recent aal2 sign-in (403 `reauthentication_required`)."""
    services.totp_remove(principal=request.auth)
    return Status(204, None)


@users_router.post("/me/mfa/recovery-codes", response={200: RecoveryCodesOut, **problem_responses(401, 403, 409, 429)})
def recovery_codes_create(request: PrincipalRequest) -> dict[str, list[str]]:
    """A new set of recovery codes, the old set dead; needs a recent aal2 sign-in."""
    return {"recovery_codes": services.recovery_codes_regenerate(principal=request.auth)}


@auth_router.post(
    "/mfa/verify",
    auth=transport.sign_in_guard,
    response={200: MfaSignInOut, **problem_responses(400, 401, 403, 422, 429)},
    throttle=sign_in_throttles,
)
def mfa_verify(request: HttpRequest, response: HttpResponse, body: MfaVerifyIn) -> dict[str, Any]:
    """The second step of a sign-in that answered `mfa_required`: its mfa_token and a code (or, with
    `"method": "webauthn"`, the `challenge_id` of POST /api/auth/mfa/webauthn/options and the
    `credential`); the token pair, and the device token unless the first factor was an emailed link."""
    sign_in = services.mfa_verify(
        mfa_token=body.mfa_token,
        method=body.method,
        code=body.code,
        challenge_id=body.challenge_id,
        credential=body.credential,
        binding=_binding(request),
        user_agent=client_user_agent(request),
        ip=client_ip(request),
    )
    _second_step_done(request, response)
    return sign_in_out(request, response, sign_in)


@auth_router.post(
    "/mfa/webauthn/options",
    auth=transport.sign_in_guard,
    response={200: CeremonyOptionsOut, **problem_responses(400, 401, 403, 404, 422, 429)},
    throttle=sign_in_throttles,
)
def mfa_webauthn_options(request: HttpRequest, body: MfaTokenIn) -> dict[str, Any]:
    """After `mfa_required`: options for navigator.credentials.get() with the user's credentials."""
    challenge_id, options = services.mfa_webauthn_options(mfa_token=body.mfa_token, binding=_binding(request))
    return {"challenge_id": challenge_id, "options": options}


@auth_router.post(
    "/mfa/totp",
    auth=transport.sign_in_guard,
    response={200: TotpBeginOut, **problem_responses(401, 403, 409, 422, 429)},
    throttle=sign_in_throttles,
)
def mfa_enrollment_begin(request: HttpRequest, body: MfaTokenIn) -> dict[str, str]:
    """After `mfa_enrollment_required`: a TOTP secret for the mfa_token's user (as POST /api/users/me/mfa/totp)."""
    return services.mfa_enrollment_begin(mfa_token=body.mfa_token, binding=_binding(request))


@auth_router.post(
    "/mfa/totp/confirm",
    auth=transport.sign_in_guard,
    response={200: MfaEnrolledOut, **problem_responses(401, 403, 404, 422, 429)},
    throttle=sign_in_throttles,
)
def mfa_enrollment_confirm(request: HttpRequest, response: HttpResponse, body: MfaEnrollConfirmIn) -> dict[str, Any]:
    """After `mfa_enrollment_required`: confirms the TOTP with a code; the recovery codes and the token pair."""
    codes, sign_in = services.mfa_enrollment_confirm(
        mfa_token=body.mfa_token,
        code=body.code,
        binding=_binding(request),
        user_agent=client_user_agent(request),
        ip=client_ip(request),
    )
    _second_step_done(request, response)
    return {**sign_in_out(request, response, sign_in), "recovery_codes": codes}


@auth_router.post(
    "/reauthenticate", auth=jwt_auth, response={200: TokenPairOut, **problem_responses(400, 401, 403, 422, 429)}
)
def reauthenticate(request: PrincipalRequest, response: HttpResponse, body: ReauthenticateIn) -> dict[str, Any]:
    """Proves the user again (password, TOTP or recovery code, or a WebAuthn assertion for the options
    of POST /api/auth/reauthenticate/webauthn/options): a fresh pair for the same session, `auth_time` now."""
    # The answer may set the refresh cookie: the same CSRF proof as a sign-in, before anything changes.
    transport.sign_in_guard(request)
    pair = services.session_reauthenticate(
        principal=request.auth,
        method=body.method,
        password=body.password,
        code=body.code,
        challenge_id=body.challenge_id,
        credential=body.credential,
    )
    return transport.token_pair_out(request, response, pair)


@auth_router.post(
    "/reauthenticate/webauthn/options",
    auth=jwt_auth,
    response={200: CeremonyOptionsOut, **problem_responses(400, 401, 404, 429)},
)
def reauthenticate_webauthn_options(request: PrincipalRequest) -> dict[str, Any]:
    """Options for navigator.credentials.get() with the user's credentials, for POST /api/auth/reauthenticate."""
    challenge_id, options = services.reauthentication_webauthn_options(principal=request.auth)
    return {"challenge_id": challenge_id, "options": options}
