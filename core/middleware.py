"""The project's middleware: API errors as problems, each request's id and client IP, CORS
without its cost for requests that have no Origin, and Django's browser-site middleware kept
off the API.

ApiProblemMiddleware keeps /api/ free of HTML error pages and of bodies in a charset other than UTF-8.

Ninja's handlers (core.problems) cover errors raised inside API views. Some responses are
made before a view runs: an unknown URL (Django's 404 page) or a known URL with the wrong
method (Ninja's bare 405). This turns any such non-JSON error under /api/ into a problem.
"""

import re
import secrets
from collections.abc import Awaitable

import corsheaders.middleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _

from core import events
from core.clients import client_ip
from core.errors import UnsupportedMediaType
from core.http import GetResponse
from core.problems import CONTENT_TYPE, problem_from, status_problem

API_PREFIX = "/api/"
# What a request body under /api/ may declare as its charset (an undeclared one is read as UTF-8).
READABLE_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})
# Where only the API's own JSON endpoints live: no view there reads a session, request.user or messages.
API_PATHS = (API_PREFIX, "/.well-known/")


class ApiProblemMiddleware:
    """Every answer under /api/ and /.well-known/ is JSON (an error Django made as HTML becomes its problem) and
    `Cache-Control: no-store` unless the endpoint says otherwise: token pairs, profiles and
    sessions must not be kept by a browser's or a proxy's cache (RFC 6749 §5.1, RFC 9111)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(API_PATHS):
            return self.get_response(request)
        content_type = request.META.get("CONTENT_TYPE")
        charset = content_type and parse_header_parameters(content_type)[1].get("charset")
        response: HttpResponseBase
        if charset and charset.lower() not in READABLE_CHARSETS:
            # Django would decode the form with it (UTF-16, or a codec that is no text encoding at all:
            # a 500); JSON is UTF-8 by definition (RFC 8259), and so is every form this API reads.
            response = problem_from(
                UnsupportedMediaType(_("Send the body in UTF-8, not %(charset)s.") % {"charset": charset})
            )
        else:
            response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            (CONTENT_TYPE, "application/json")
        ):
            problem = status_problem(response.status_code)
            if response.has_header("Allow"):
                problem["Allow"] = response["Allow"]
            response = problem
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


# What a client's X-Request-ID may be to be kept: short, and nothing that could break a
# log line or a header. Anything else is replaced by a generated id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestContextMiddleware:
    """Gives each request an id (the client's sane X-Request-ID, or a new one), echoed in the
    response, and puts it with the client IP in context for the auth event log (core.events)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
        with events.request_context(request_id=request_id, client_ip=client_ip(request)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class CorsMiddleware(corsheaders.middleware.CorsMiddleware):
    """django-cors-headers, without its machinery for a request that has no Origin.

    Such a request (same-origin, a mobile app, a server) is neither a preflight nor
    cross-origin, so it gets `Vary: Origin` alone. corsheaders gets there by building
    `request.headers` from every header of the request, a tenth of a whoami in-process
    (docs/benchmarks.md). Requests with an Origin take corsheaders' own path.
    """

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if "HTTP_ORIGIN" in request.META:
            return super().__call__(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)  # WSGI: the chain below is synchronous
        if self.is_enabled(request):
            patch_vary_headers(response, ("origin",))
        return response


class SiteOnlyMixin(MiddlewareMixin):
    """Makes a middleware of Django's browser site (the admin, the dev provider's login form) step
    aside for the API, whose requests carry bearer tokens, not Django's session cookie.

    Measured in-process, sessions, auth and messages cost a sixth of a liveness request that
    uses none of them (docs/benchmarks.md). The subclasses below keep Django's classes in
    MIDDLEWARE, so the admin's system checks still find them.
    """

    async_capable = False  # WSGI: __call__ below is synchronous

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if request.path_info.startswith(API_PATHS):
            return self.get_response(request)
        return super().__call__(request)


class SiteSessionMiddleware(SiteOnlyMixin, SessionMiddleware):
    pass


class SiteAuthenticationMiddleware(SiteOnlyMixin, AuthenticationMiddleware):
    pass


class SiteMessageMiddleware(SiteOnlyMixin, MessageMiddleware):
    pass
