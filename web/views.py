"""The sign-in page: the reference browser client of the API (see docs/browser-tests.md).

Both URLs serve the same page; web/static/web/app.js tells them apart by path.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.mail import dev_mailbox as dev_mailbox_messages
from core.cookies import cookie_get
from passkeys.conf import passkey_settings
from tokens.conf import token_settings
from tokens.transport import REFRESH_COOKIE
from web.strings import page_strings

# No inline script or style anywhere, API calls to this origin only, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)

# The pages whose URL carries a secret (a provider's code, an emailed token): a Referer names at most the
# origin, never the path or query. Not no-referrer: Chromium then sends `Origin: null` with the page's own
# form POSTs, and Django's CSRF check refuses the language switch (set_language) with a 403; under
# strict-origin a same-origin request carries the real Origin.
LINK_REFERRER_POLICY = "strict-origin"


def _page(request: HttpRequest) -> HttpResponse:
    # app.js reads the transport from the page: in cookie mode it resumes the session on load, but only
    # when the browser sent a refresh cookie, so that a signed-out load makes no refresh bound to fail
    # (a 401 in the console). The cookie is HttpOnly: only the server can tell the page it is there.
    transport = token_settings().refresh_transport
    response = render(
        request,
        "web/app.html",
        {
            "refresh_transport": transport.value,
            "session_hint": transport.uses_cookie and cookie_get(request, REFRESH_COOKIE) is not None,
            "dev_mailbox": settings.DEBUG,
            "strings": page_strings(),
            # passkeys.js: empty when WebAuthn is off; otherwise the host its passkeys work on.
            "webauthn_rp_id": passkey_settings().rp_id if passkey_settings().enabled else "",
        },
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_safe
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    response = _page(request)
    # The URL carries the authorization code until app.js removes it: never send it on.
    response["Referrer-Policy"] = LINK_REFERRER_POLICY
    return response


@require_safe
def emailed_link(request: HttpRequest) -> HttpResponse:
    response = _page(request)
    # The fragment carries a one-time token until app.js removes it: never send the URL on.
    response["Referrer-Policy"] = LINK_REFERRER_POLICY
    return response


@require_safe
def dev_mailbox(request: HttpRequest) -> JsonResponse:
    """DEBUG only: the links of the last emails (make run prints them too), so the page can show them."""
    if not settings.DEBUG:
        raise Http404
    response = JsonResponse(dev_mailbox_messages(), safe=False)
    response["Cache-Control"] = "no-store"
    return response
