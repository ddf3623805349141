"""How the refresh token travels between the API and a browser (JWT_REFRESH_TRANSPORT).

`body`: in JSON, as an app keeps it. `cookie`: only in an HttpOnly cookie (core.cookies:
`__Host-refresh_token` over https, `refresh_token` on plain-http loopback), never in a
response body, so a script injected into the page cannot take it away. `both`: the two at
once, for an API that serves both kinds of client. Access tokens always travel in bodies.

A cookie is ambient: the browser attaches it to any request for the API, including one a
foreign page causes. So a request the cookie authenticates must carry CSRF_HEADER, and its
`Origin`, when sent, must be the API's own or one of CORS_ALLOWED_ORIGINS; otherwise 403
`csrf_failed`, before the token is even decoded. A response that *sets* the cookie (every
sign-in, a refresh) needs the same proof, or a foreign page could plant its own session in
the victim's browser (login CSRF, OAuth browser-based-apps BCP §6.1.3.3): `sign_in_guard`.
Why that holds is in docs/sessions.md.
"""

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja.errors import ValidationError

from core.cookies import SameSite, cookie_delete, cookie_get, cookie_set
from tokens.conf import token_settings
from tokens.errors import CsrfFailed, NotAuthenticated
from tokens.services import TokenPair

REFRESH_COOKIE = "refresh_token"
# OAuth browser-based-apps BCP §6.1.3.2: sent with same-site requests only.
REFRESH_COOKIE_SAMESITE: SameSite = "Strict"
# Any value will do: a cross-site form cannot send a custom header at all, and a cross-origin
# fetch that adds one must first pass a CORS preflight.
CSRF_HEADER = "X-Requested-With"
# Set on a request whose refresh token came from the cookie (see middleware.py).
_COOKIE_USED = "_refresh_cookie_used"


def refresh_token_read(request: HttpRequest, *, body_refresh: str | None) -> str | None:
    """The refresh token of a request: the body's, else (cookie or both) the cookie's, CSRF-checked."""
    if body_refresh:
        return body_refresh
    if not token_settings().refresh_transport.uses_cookie:
        return None
    cookie = cookie_get(request, REFRESH_COOKIE)
    if cookie is None:
        return None
    # Checked here as well as in csrf_guard: the cookie never leaves this function unchecked,
    # whichever endpoint reads it; the guard only makes the refusal come before body parsing.
    csrf_check(request)
    setattr(request, _COOKIE_USED, True)
    return cookie


def refresh_token_require(request: HttpRequest, *, body_refresh: str | None) -> str:
    """The refresh token a refresh needs; a missing one is the body's field error in body mode."""
    refresh = refresh_token_read(request, body_refresh=body_refresh)
    if refresh:
        return refresh
    if not token_settings().refresh_transport.uses_cookie:
        raise ValidationError([{"type": "missing", "loc": ("body", "body", "refresh"), "msg": "Field required"}])
    raise NotAuthenticated(_("Send the refresh token in the cookie (or in the body as `refresh`)."))


def csrf_guard(request: HttpRequest) -> bool:
    """Ninja auth hook of the endpoints the cookie may authenticate: a request carrying it must pass CSRF.

    Auth runs before Ninja parses the body, so a cross-site form post is refused as
    `csrf_failed` rather than as an unparsable body. It admits every request otherwise:
    the service decides what the credentials are worth.
    """
    if token_settings().refresh_transport.uses_cookie and cookie_get(request, REFRESH_COOKIE):
        csrf_check(request)
    return True


def sign_in_guard(request: HttpRequest) -> bool:
    """Ninja auth hook of every endpoint that can answer a token pair to a browser (sign-ins, refresh).

    In cookie and both modes the answer sets the refresh cookie, so the request must pass CSRF
    whether or not it carries a cookie; auth runs before the body is parsed and the service
    called, so a refused request changes nothing. Body mode sets no cookie: nothing to guard.
    """
    if token_settings().refresh_transport.uses_cookie:
        csrf_check(request)
    return True


def refresh_cookie_was_used(request: HttpRequest) -> bool:
    return getattr(request, _COOKIE_USED, False)


def csrf_check(request: HttpRequest) -> None:
    if not request.headers.get(CSRF_HEADER):
        raise CsrfFailed(
            _("A request that uses or sets the refresh cookie must send the %(header)s header.")
            % {"header": CSRF_HEADER}
        )
    origin = request.headers.get("Origin")
    if origin is not None and origin not in _allowed_origins(request):
        raise CsrfFailed(_("The request comes from an origin that may not use the refresh cookie."))


def _allowed_origins(request: HttpRequest) -> frozenset[str]:
    own = f"{request.scheme}://{request.get_host()}"
    return token_settings().cookie_origins | {own}


def token_pair_out(request: HttpRequest, response: HttpResponse, pair: TokenPair) -> dict[str, Any]:
    """The pair's JSON body; in cookie mode its refresh token goes to the cookie instead (null in the body)."""
    transport = token_settings().refresh_transport
    if transport.uses_cookie:
        # sign_in_guard refused a forged request before anything changed; this keeps an endpoint
        # that forgot the guard from setting the cookie all the same.
        csrf_check(request)
        cookie_set(
            response,
            request,
            name=REFRESH_COOKIE,
            value=pair.refresh,
            max_age=pair.refresh_expires_in,
            samesite=REFRESH_COOKIE_SAMESITE,
        )
    body = asdict(pair)
    if not transport.uses_body:
        body["refresh"] = None
    return body


def refresh_cookie_clear(request: HttpRequest, response: HttpResponse) -> None:
    if token_settings().refresh_transport.uses_cookie:
        cookie_delete(response, request, name=REFRESH_COOKIE, samesite=REFRESH_COOKIE_SAMESITE)
