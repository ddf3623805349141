"""The base of every error a client can act on.

Services raise subclasses; core.problems renders each as an RFC 9457 problem+json body
`{type, title, status, detail, code, ...extra}`. Subclasses set `code`, `status` and
`title` at class level, so the code is a stable contract and the detail can vary.

Titles and details are lazy translations (docs/i18n.md): core.problems renders them in the
request's language; `code` and every other field stay the same in every language.
"""

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.events import AuthEvent

# What a title or a detail is: plain text, or a lazy translation rendered with the response.
Text = str | Promise


class Problem(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[Text] = _("Bad request")
    # Set on errors that are auth events: core.problems logs them as such, the code as outcome.
    event: ClassVar[AuthEvent | None] = None

    def __init__(self, detail: Text | None = None, *, target: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        # For the event log only (core.events.email_target), never the response: which account it was.
        self.target = target
        self.extra = extra
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        return {}

    def finish_response(self, request: HttpRequest, response: HttpResponse) -> None:
        """Changes the rendered response beyond its headers (a cookie that needs the request)."""


class NotFound(Problem):
    status = 404
    code = "not_found"
    title = _("Not found")


class ServiceUnavailable(Problem):
    status = 503
    code = "service_unavailable"
    title = _("A backing service is unavailable")


class AccountDisabled(Problem):
    """Refused at sign-in, whichever way: a social login or a password."""

    status = 403
    code = "account_disabled"
    title = _("This account is disabled")
    event = AuthEvent.SIGN_IN


class TooManyFailures(Problem):
    """The failure budget of a limit is spent (core.throttling.FailureLimit); answered like a throttle."""

    status = 429
    code = "throttled"
    title = _("Too many failed attempts; try again later")

    def __init__(self, detail: Text | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"
    title = _("The request body must be application/json")
