"""The base of every error a client can act on.

Services raise subclasses; core.problems renders each as an RFC 9457 problem+json body
`{type, title, status, detail, code, ...extra}`. Subclasses set `code`, `status` and
`title` at class level, so the code is a stable contract and the detail can vary.
"""

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse

from core.events import AuthEvent


class Problem(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    # Set on errors that are auth events: core.problems logs them as such, the code as outcome.
    event: ClassVar[AuthEvent | None] = None

    def __init__(self, detail: str | None = None, *, target: str | None = None, **extra: Any) -> None:
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
    title = "Not found"


class ServiceUnavailable(Problem):
    status = 503
    code = "service_unavailable"
    title = "A backing service is unavailable"


class AccountDisabled(Problem):
    """Refused at sign-in, whichever way: a social login or a password."""

    status = 403
    code = "account_disabled"
    title = "This account is disabled"
    event = AuthEvent.SIGN_IN


class TooManyFailures(Problem):
    """The failure budget of a limit is spent (core.throttling.FailureLimit); answered like a throttle."""

    status = 429
    code = "throttled"
    title = "Too many failed attempts; try again later"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "The request body must be application/json"
