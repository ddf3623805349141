"""HTTP glue for social login: each endpoint parses, calls one service, returns a schema."""

from dataclasses import asdict

from ninja import Router

from core.clients import client_ip
from core.schemas import problem_responses
from core.throttling import sign_in_throttles
from social import selectors, services
from social.schemas import AuthorizeIn, AuthorizeOut, CallbackIn, ProviderOut, SocialLoginOut, TokenIn

router = Router(tags=["social"])


@router.get("/providers", response=list[ProviderOut])
def providers(request):
    """The configured providers, in the order to show their buttons."""
    return selectors.provider_list()


@router.post(
    "/{provider}/authorize",
    response={200: AuthorizeOut, **problem_responses(400, 404, 422, 429, 502, 503, 504)},
    throttle=sign_in_throttles,
)
def authorize(request, provider: str, body: AuthorizeIn):
    """Begins a login: the URL to send the browser to, and its state (valid once, for SOCIAL_PENDING_LOGIN_TTL)."""
    return services.social_login_begin(provider=provider, redirect_uri=body.redirect_uri)


@router.post(
    "/{provider}/callback",
    response={200: SocialLoginOut, **problem_responses(400, 403, 404, 422, 429, 502, 503, 504)},
    throttle=sign_in_throttles,
)
def callback(request, provider: str, body: CallbackIn):
    """Completes a login: exchanges the code on the backend and answers with the API's own token pair."""
    login = services.social_login_complete(
        provider=provider,
        code=body.code,
        state=body.state,
        user_agent=request.headers.get("User-Agent", ""),
        ip=client_ip(request),
    )
    return {**asdict(login.tokens), "user": login.user, "created": login.created}


@router.post(
    "/{provider}/token",
    response={200: SocialLoginOut, **problem_responses(400, 403, 404, 422, 429, 502, 503, 504)},
    throttle=sign_in_throttles,
)
def token(request, provider: str, body: TokenIn):
    """Signs in with a token from a native SDK (an id_token, or Kakao's access token); answers like /callback."""
    login = services.social_login_with_token(
        provider=provider,
        id_token=body.id_token,
        nonce=body.nonce,
        access_token=body.access_token,
        user_agent=request.headers.get("User-Agent", ""),
        ip=client_ip(request),
    )
    return {**asdict(login.tokens), "user": login.user, "created": login.created}
