"""The sign-in page: the reference browser client of the API (see docs/browser-tests.md).

Both URLs serve the same page; web/static/web/app.js tells them apart by path.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tokens.conf import token_settings

# No inline script or style anywhere, API calls to this origin only, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


def _page(request: HttpRequest) -> HttpResponse:
    # app.js reads the transport from the page: in cookie mode it resumes the session on load.
    response = render(request, "web/app.html", {"refresh_transport": token_settings().refresh_transport.value})
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_GET
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    response = _page(request)
    # The URL carries the authorization code until app.js removes it: never send it on.
    response["Referrer-Policy"] = "no-referrer"
    return response
