"""HTTP glue for social login: each endpoint parses, calls one service, returns a schema."""

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from ninja import Form, Router

from accounts.api import sign_in_out
from accounts.devices import DEVICE_COOKIE
from core.clients import client_ip, client_user_agent
from core.cookies import SameSite, cookie_delete, cookie_get, cookie_set
from core.languages import request_language
from core.schemas import problem_responses
from core.throttling import sign_in_throttles
from social import selectors, services
from social.conf import social_settings
from social.providers.registry import PROVIDERS
from social.schemas import AuthorizeIn, AuthorizeOut, CallbackIn, FormPostIn, ProviderOut, SocialLoginOut, TokenIn
from social.services.login import LoginStart
from tokens import transport
from tokens.auth import jwt_auth, session_throttle

# The browser binding of a pending login: Lax, since a provider's redirect back is a cross-site
# navigation and the page's /callback request follows it.
BINDING_COOKIE = "social_binding"
BINDING_COOKIE_SAMESITE: SameSite = "Lax"

router = Router(tags=["social"])

# What the providers themselves call (Kakao's unlink callback): config/api.py mounts it under /api/auth/.
webhooks_router = Router()
for _provider in PROVIDERS:
    if _provider.webhooks is not None:
        webhooks_router.add_router("", _provider.webhooks)


def _anonymous(request: HttpRequest) -> bool:
    """Lets /authorize through without a bearer token: only linking needs one."""
    return True


@router.get("/providers", response=list[ProviderOut])
def providers(request: HttpRequest) -> list[dict[str, Any]]:
    """The configured providers, in the order to show their buttons."""
    return selectors.provider_list()


@router.post(
    "/{provider}/authorize",
    response={200: AuthorizeOut, **problem_responses(400, 401, 404, 422, 429, 502, 503, 504)},
    throttle=[*sign_in_throttles, session_throttle],
    auth=[jwt_auth, _anonymous],
)
def authorize(request: HttpRequest, response: HttpResponse, provider: str, body: AuthorizeIn) -> LoginStart:
    """Begins a login: the URL to send the browser to, and its state (valid once, for SOCIAL_PENDING_LOGIN_TTL).

    Sets the browser-binding cookie that /callback requires (unless SOCIAL_BIND_TO_BROWSER is off).
    With `"intent": "link"` and a bearer token, the callback links the identity to that user.
    """
    login = services.social_login_begin(
        provider=provider,
        redirect_uri=body.redirect_uri,
        intent=body.intent,
        # Ninja sets request.auth (a Principal, or _anonymous's True); django-stubs' HttpRequest has no such field.
        principal=request.auth,  # type: ignore[attr-defined]
    )
    if login.browser_binding:
        cookie_set(
            response,
            request,
            name=BINDING_COOKIE,
            value=login.browser_binding,
            max_age=social_settings().pending_login_ttl,
            samesite=BINDING_COOKIE_SAMESITE,
        )
    return login


@router.post(
    "/{provider}/callback",
    response={200: SocialLoginOut, **problem_responses(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)},
    throttle=sign_in_throttles,
    auth=transport.sign_in_guard,
)
def callback(request: HttpRequest, response: HttpResponse, provider: str, body: CallbackIn) -> dict[str, Any]:
    """Completes a login begun in this browser: exchanges the code on the backend, answers with the API's own pair."""
    login = services.social_login_complete(
        provider=provider,
        code=body.code,
        state=body.state,
        browser_binding=cookie_get(request, BINDING_COOKIE),
        device_token=cookie_get(request, DEVICE_COOKIE),
        user_agent=client_user_agent(request),
        ip=client_ip(request),
        language=request_language(request),
    )
    cookie_delete(response, request, name=BINDING_COOKIE, samesite=BINDING_COOKIE_SAMESITE)
    return {**sign_in_out(request, response, login.sign_in), "user": login.user, "created": login.created}


@router.post(
    "/{provider}/token",
    response={200: SocialLoginOut, **problem_responses(400, 403, 404, 422, 429, 502, 503, 504)},
    throttle=sign_in_throttles,
)
def token(request: HttpRequest, provider: str, body: TokenIn) -> dict[str, Any]:
    """Signs in with a token from a native SDK (an id_token, or Kakao's access token); answers like /callback.

    Always with the refresh token in the body, whatever JWT_REFRESH_TRANSPORT: an app has no cookie jar.
    """
    login = services.social_login_with_token(
        provider=provider,
        id_token=body.id_token,
        nonce=body.nonce,
        access_token=body.access_token,
        display_name=body.display_name,
        device_token=body.device_token,
        user_agent=client_user_agent(request),
        ip=client_ip(request),
        language=request_language(request),
    )
    return {
        **asdict(login.sign_in.tokens),
        "device_token": login.sign_in.device_token,
        "user": login.user,
        "created": login.created,
    }


@router.post(
    "/{provider}/form-post",
    response={303: None, **problem_responses(400, 404, 422, 429)},
    throttle=sign_in_throttles,
)
def form_post(request: HttpRequest, provider: str, body: Form[FormPostIn]) -> HttpResponseRedirect:
    """Where Apple posts the code (response_mode=form_post): 303 to the frontend's redirect_uri with code and state."""
    location = services.social_form_post_forward(
        provider=provider, state=body.state, code=body.code, error=body.error, user=body.user
    )
    return HttpResponseRedirect(location, status=303)
