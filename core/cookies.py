"""The cookies the API sets for browsers, one policy for all of them.

Every cookie is HttpOnly (no script reads it: OAuth browser-based-apps BCP §8.1) with
`Path=/`. Over https it is `Secure` and named with the `__Host-` prefix, which the browser
honours only for a Secure cookie of this exact host with `Path=/`: no subdomain and no plain-http
page can plant or overwrite it (BCP §6.1.3.2). On plain-http loopback (`make run`, the browser
tests) browsers would drop a Secure cookie, so the cookie goes without the prefix and the flag
there, under its bare name. Any other plain-http host still gets the Secure, prefixed cookie: a
proxy that forgot SECURE_PROXY_SSL_HEADER fails closed (the browser refuses the cookie) instead
of sending a session cookie in clear text.
"""

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse

HOST_PREFIX = "__Host-"
SameSite = Literal["Strict", "Lax"]


def is_loopback_host(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _is_secure(request: HttpRequest) -> bool:
    return request.is_secure() or not is_loopback_host(urlsplit(f"//{request.get_host()}").hostname or "")


def cookie_name(request: HttpRequest, name: str) -> str:
    """The name `name` has on this request's scheme and host (`__Host-<name>` or `<name>`)."""
    return HOST_PREFIX + name if _is_secure(request) else name


def cookie_get(request: HttpRequest, name: str) -> str | None:
    return request.COOKIES.get(cookie_name(request, name)) or None


def cookie_set(
    response: HttpResponse, request: HttpRequest, *, name: str, value: str, max_age: int, samesite: SameSite
) -> None:
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/",
        secure=_is_secure(request),
        httponly=True,
        samesite=samesite,
    )


def cookie_delete(response: HttpResponse, request: HttpRequest, *, name: str, samesite: SameSite) -> None:
    # Django's delete_cookie marks a __Host- cookie Secure itself, as the browser requires.
    response.delete_cookie(cookie_name(request, name), path="/", samesite=samesite)
