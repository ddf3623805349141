"""HTTP glue for accounts: each endpoint parses, calls one service, returns a schema."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Body, Router, Status

from accounts import notices, selectors, services
from accounts.conf import account_settings
from accounts.devices import DEVICE_COOKIE, SignIn
from accounts.schemas import (
    AcceptedOut,
    AccountDeleteIn,
    EmailChangeIn,
    EmailCodeIn,
    EmailIn,
    IdentitiesOut,
    MeOut,
    PasswordChangeIn,
    PasswordSignInIn,
    RegisterIn,
    ResetConfirmIn,
    SignedLinkIn,
    SignInOut,
    UserUpdateIn,
    VerifyEmailIn,
)
from accounts.throttling import email_code_throttles, password_throttles, reset_throttles, sign_in_throttles
from core.clients import client_ip, client_user_agent
from core.cookies import cookie_get, cookie_set
from core.languages import request_language
from core.models import User
from core.schemas import UserOut, problem_responses
from tokens import transport
from tokens.auth import PrincipalRequest, bearer_token, jwt_auth
from tokens.schemas import TokenPairOut

auth_router = Router(tags=["accounts"])
users_router = Router(tags=["users"], auth=jwt_auth)


def _client(request: HttpRequest) -> dict[str, str]:
    return {"user_agent": client_user_agent(request), "ip": client_ip(request)}


@auth_router.post(
    "/register", response={202: AcceptedOut, **problem_responses(404, 422, 429)}, throttle=password_throttles
)
def register(request: HttpRequest, body: RegisterIn) -> Status[dict[str, str]]:
    """Signs up with an email and a password; the same answer whether or not the address has an account."""
    services.account_register(
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        language=request_language(request) if body.language is None else body.language,
    )
    return Status(202, {"detail": _("Check the inbox of the address for a link to continue.")})


@auth_router.post(
    "/email/verify",
    response={200: TokenPairOut, **problem_responses(400, 401, 403, 404, 422, 429)},
    throttle=password_throttles,
    auth=transport.sign_in_guard,
)
def email_verify(request: HttpRequest, response: HttpResponse, body: VerifyEmailIn) -> dict[str, Any]:
    """Confirms the address with the emailed link's uid and token and the account's password (or a bearer token
    of the account), and signs in. The link alone is 403 `password_required`."""
    pair = services.account_email_verify(
        uid=body.uid, token=body.token, password=body.password, access=bearer_token(request), **_client(request)
    )
    return transport.token_pair_out(request, response, pair)


@auth_router.post(
    "/email/verify/resend", response={202: AcceptedOut, **problem_responses(404, 422, 429)}, throttle=password_throttles
)
def email_verify_resend(request: HttpRequest, body: EmailIn) -> Status[dict[str, str]]:
    """A new verification link, if the address is waiting for one; the same answer either way."""
    services.account_verification_resend(email=body.email)
    return Status(202, {"detail": _("If the address is waiting for confirmation, a new link is on its way.")})


@auth_router.post(
    "/token",
    response={200: SignInOut, **problem_responses(401, 403, 404, 422, 429)},
    throttle=sign_in_throttles,
    auth=transport.sign_in_guard,
)
def token(request: HttpRequest, response: HttpResponse, body: PasswordSignInIn) -> dict[str, Any]:
    """Signs in with an email and a password; answers a device token too (the `device` cookie for browsers)."""
    sign_in = services.account_password_sign_in(
        email=body.email,
        password=body.password,
        device_token=body.device_token or cookie_get(request, DEVICE_COOKIE),
        **_client(request),
    )
    return sign_in_out(request, response, sign_in)


def sign_in_out(request: HttpRequest, response: HttpResponse, sign_in: SignIn) -> dict[str, Any]:
    """The pair (tokens.transport) and the device token, in the body and the `device` cookie; also the
    answer of the second step (mfa) of a sign-in held back for it, which for a provider's has none."""
    if sign_in.device_token is not None:
        _device_cookie_set(request, response, sign_in.device_token)
    return {**transport.token_pair_out(request, response, sign_in.tokens), "device_token": sign_in.device_token}


def _device_cookie_set(request: HttpRequest, response: HttpResponse, device_token: str) -> None:
    cookie_set(
        response,
        request,
        name=DEVICE_COOKIE,
        value=device_token,
        max_age=int(account_settings().device_token_ttl.total_seconds()),
        samesite="Strict",
    )


@auth_router.post(
    "/email/code", response={202: AcceptedOut, **problem_responses(422, 429)}, throttle=email_code_throttles
)
def email_code(request: HttpRequest, body: EmailIn) -> Status[dict[str, str]]:
    """Emails a sign-in code, if the address has an account or may sign up; the same answer either way."""
    services.email_code_request(email=body.email, language=request_language(request))
    return Status(202, {"detail": _("If the address can sign in, a code is on its way.")})


@auth_router.post(
    "/email/code/confirm",
    response={200: SignInOut, **problem_responses(401, 403, 422, 429)},
    throttle=sign_in_throttles,
    auth=transport.sign_in_guard,
)
def email_code_confirm(request: HttpRequest, response: HttpResponse, body: EmailCodeIn) -> dict[str, Any]:
    """Signs in with the emailed code, which proves the address (an unverified account becomes verified);
    answers like the password sign-in, device token included."""
    sign_in = services.email_code_sign_in(
        email=body.email,
        code=body.code,
        device_token=body.device_token or cookie_get(request, DEVICE_COOKIE),
        language=request_language(request),
        **_client(request),
    )
    return sign_in_out(request, response, sign_in)


@auth_router.post(
    "/password/reset", response={202: AcceptedOut, **problem_responses(404, 422, 429)}, throttle=reset_throttles
)
def password_reset(request: HttpRequest, body: EmailIn) -> Status[dict[str, str]]:
    """Emails a link to set a new password, if the address has an account; the same answer either way."""
    services.password_reset_request(email=body.email)
    return Status(202, {"detail": _("If the address has an account, a link to reset its password is on its way.")})


@auth_router.post(
    "/password/reset/confirm",
    response={200: SignInOut, **problem_responses(400, 403, 404, 422, 429)},
    throttle=password_throttles,
    auth=transport.sign_in_guard,
)
def password_reset_confirm(request: HttpRequest, response: HttpResponse, body: ResetConfirmIn) -> dict[str, Any]:
    """Sets the new password from the emailed link, ends every session and signs in afresh; answers like the
    password sign-in, with a device token of the new password."""
    sign_in = services.password_reset_confirm(
        uid=body.uid, token=body.token, new_password=body.new_password, **_client(request)
    )
    return sign_in_out(request, response, sign_in)


@users_router.get("/me", response={200: MeOut, **problem_responses(401, 429)})
def me(request: PrincipalRequest) -> dict[str, Any]:
    """The signed-in user's profile (one query), and how this session signed in (from the access token)."""
    user = selectors.user_get(user_id=request.auth.user_id)
    claims = request.auth.claims
    return {
        **UserOut.from_orm(user).model_dump(),
        "auth_time": claims.get("auth_time"),
        "amr": claims.get("amr", []),
        "acr": claims.get("acr"),
    }


@users_router.patch("/me", response={200: UserOut, **problem_responses(401, 422, 429)})
def me_update(request: PrincipalRequest, body: UserUpdateIn) -> User:
    """Changes the display name and/or the language of the user's emails (one of LANGUAGES; "" forgets it)."""
    return services.user_update(user_id=request.auth.user_id, display_name=body.display_name, language=body.language)


@users_router.post("/me/password", response={204: None, **problem_responses(401, 403, 404, 422, 429)})
def password_change(request: PrincipalRequest, response: HttpResponse, body: PasswordChangeIn) -> Status[None]:
    """Changes the password; every other session of the user ends. A browser's `device` cookie of the user is
    set anew (the new password forgets every device)."""
    device_token = services.password_change(
        principal=request.auth,
        current_password=body.current_password,
        new_password=body.new_password,
        device_token=cookie_get(request, DEVICE_COOKIE),
    )
    if device_token is not None:
        _device_cookie_set(request, response, device_token)
    return Status(204, None)


@users_router.get("/me/identities", response={200: IdentitiesOut, **problem_responses(401, 429)})
def identities(request: PrincipalRequest) -> dict[str, Any]:
    """The provider identities linked to the user, and whether a password is set."""
    return selectors.identity_list(user_id=request.auth.user_id)


@users_router.delete("/me/identities/{identity_id}", response={204: None, **problem_responses(401, 403, 404, 409, 429)})
def identity_delete(request: PrincipalRequest, identity_id: int) -> Status[None]:
    """Unlinks an identity (409 `last_sign_in_method` if it is the only way to sign in); needs a recent sign-in
    (403 `reauthentication_required`)."""
    services.identity_remove(principal=request.auth, identity_id=identity_id)
    return Status(204, None)


@users_router.delete("/me", response={204: None, **problem_responses(401, 403, 422, 429, 502, 504)})
def account_delete(request: PrincipalRequest, body: AccountDeleteIn | None = None) -> Status[None]:
    """Deletes the account: its identities (unlinked at Kakao too), sessions and the user. Needs a recent sign-in
    (ACCOUNTS_RECENT_SIGN_IN_MINUTES) or the current password."""
    services.account_delete(principal=request.auth, password=body.password if body else None)
    return Status(204, None)


@users_router.post("/me/email", response={202: AcceptedOut, **problem_responses(401, 403, 422, 429)})
def email_change(request: PrincipalRequest, body: EmailChangeIn) -> Status[dict[str, str]]:
    """Asks to change the address (recent sign-in): a link to the new one, a cancel link to the current one.
    The same answer for an address another account holds (which is told instead)."""
    services.email_change_request(principal=request.auth, new_email=body.new_email)
    return Status(202, {"detail": _("Open the link emailed to the new address to confirm it.")})


@users_router.post(
    "/me/email/confirm",
    response={204: None, **problem_responses(400, 409, 422, 429)},
    auth=None,
    throttle=password_throttles,
)
def email_change_confirm(request: HttpRequest, body: SignedLinkIn) -> Status[None]:
    """The new address's link: it becomes the user's, verified."""
    services.email_change_confirm(uid=body.uid, token=body.token)
    return Status(204, None)


@users_router.post(
    "/me/email/cancel", response={204: None, **problem_responses(400, 422, 429)}, auth=None, throttle=password_throttles
)
def email_change_cancel(request: HttpRequest, body: SignedLinkIn) -> Status[None]:
    """The old address's "this wasn't me" link: stops or undoes the change and ends every session."""
    services.email_change_cancel(uid=body.uid, token=body.token)
    return Status(204, None)


@users_router.get("/me/notices", response={200: dict[str, bool], **problem_responses(401, 429)})
def notices_get(request: PrincipalRequest) -> dict[str, bool]:
    """Each kind of security notice, and whether the user gets it."""
    return notices.notices_get(user_id=request.auth.user_id)


@users_router.patch("/me/notices", response={200: dict[str, bool], **problem_responses(401, 403, 422, 429)})
def notices_update(request: PrincipalRequest, body: Body[dict[str, bool]]) -> dict[str, bool]:
    """Turns the named kinds on (true) or off (false); the others stay as they were."""
    return services.notices_change(principal=request.auth, changes=body)
