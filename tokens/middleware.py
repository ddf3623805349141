"""Removes a refresh cookie the API refused, so that the browser stops presenting a dead token."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tokens import transport


class RefusedRefreshCookieMiddleware:
    """A 401 to a request authenticated by the refresh cookie (reuse, revoked, expired) deletes it.

    A middleware, since the refusal is an error that core.problems renders after the view
    is gone; a 403 `csrf_failed` leaves the cookie alone, as it never used it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 401 and transport.refresh_cookie_was_used(request):
            transport.refresh_cookie_clear(request, response)
        return response
