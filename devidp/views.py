"""HTTP endpoints of the development identity provider, mounted under /dev-idp/.

Every view answers 404 unless DEBUG and SOCIAL_DEV_PROVIDER are both on at call time.
"""

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, cast
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devidp.conf import DevIdpSettings, dev_idp_settings
from devidp.server import DevUser, discovery_document, jwks, server

# Test users offered with one click; any other can be typed in.
PRESET_USERS = (
    DevUser(email="ada@example.com", name="Ada Lovelace", email_verified=True),
    DevUser(email="grace@example.com", name="Grace Hopper", email_verified=True),
    DevUser(email="unverified@example.com", name="Unverified User", email_verified=False),
)


P = ParamSpec("P")


def dev_only(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not dev_idp_settings().enabled:
            raise Http404("The development identity provider is off.")
        return view(request, *args, **kwargs)

    return wrapper


def _authorize_page_csp(conf: DevIdpSettings) -> str:
    # The form posts here and is answered with a redirect to the client: CSP's form-action
    # covers that redirect, so the registered redirect URIs' origins are allowed too.
    origins = sorted({f"{parts.scheme}://{parts.netloc}" for parts in map(urlsplit, conf.redirect_uris)})
    form_action = " ".join(["'self'", *origins])
    return (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def _error_page(request: HttpRequest, error: OAuth2Error) -> HttpResponse:
    """Errors that cannot go back to the client (unknown client, unregistered redirect_uri)."""
    response = render(
        request,
        "devidp/error.html",
        {"error": error.error, "description": error.description},
        status=400,
    )
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
    return response


def _user_from_form(request: HttpRequest) -> DevUser | None:
    email = request.POST.get("email", "").strip()
    if not email:
        return None
    return DevUser(
        email=email,
        name=request.POST.get("name", "").strip() or email.partition("@")[0],
        email_verified=request.POST.get("email_verified") == "on",
    )


@dev_only
@require_GET
def openid_configuration(request: HttpRequest) -> JsonResponse:
    return JsonResponse(discovery_document(dev_idp_settings()))


@dev_only
@require_GET
def jwks_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(jwks())


@dev_only
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET shows who to sign in as; POST issues the code (or `access_denied` on cancel)."""
    try:
        grant = server.get_consent_grant(request)
    except OAuth2Error as error:
        # Authlib ships no type information: the casts name what its Django server returns.
        if error.redirect_uri:
            return cast(HttpResponse, server.handle_error_response(request, error))
        return _error_page(request, error)

    if request.method == "POST" and "cancel" in request.POST:
        return cast(HttpResponse, server.create_authorization_response(request, grant_user=None, grant=grant))
    if request.method == "POST" and (user := _user_from_form(request)):
        return cast(HttpResponse, server.create_authorization_response(request, grant_user=user, grant=grant))

    conf = dev_idp_settings()
    response = render(
        request,
        "devidp/authorize.html",
        {"presets": PRESET_USERS, "redirect_host": urlsplit(grant.redirect_uri).netloc, "client_id": conf.client_id},
    )
    response["Content-Security-Policy"] = _authorize_page_csp(conf)
    return response


@dev_only
@csrf_exempt  # Called server to server, authenticated by the client secret.
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    return cast(HttpResponse, server.create_token_response(request))
