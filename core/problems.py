"""RFC 9457 problem details: the one place where errors become HTTP responses.

`install(api)` registers the handlers on the NinjaAPI; `ApiProblemMiddleware` covers what
happens outside Ninja's views (unknown URLs, 405s) under /api/.
"""

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import Problem
from core.events import emit

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

# Codes for statuses that reach us without a Problem class of their own.
_CODE_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


def problem_type(code: str) -> str:
    """The `type` URI of a problem: a relative reference that names the code (README lists them)."""
    return f"/problems/{code}"


def problem_response(
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    title = title or HTTPStatus(status).phrase
    body = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        **extra,
    }
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def status_problem(status: int, **kwargs: Any) -> JsonResponse:
    return problem_response(status=status, code=_CODE_BY_STATUS.get(status, "error"), **kwargs)


def problem_from(exc: Problem) -> JsonResponse:
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers(),
        **exc.extra,
    )


def _from_problem(request: HttpRequest, exc: Problem) -> JsonResponse:
    if exc.event:
        # Sign-in routes name their provider; the event says which one failed.
        match = request.resolver_match
        emit(exc.event, outcome=exc.code, provider=match.kwargs.get("provider") if match else None, target=exc.target)
    response = problem_from(exc)
    exc.finish_response(request, response)
    return response


def _from_validation_error(request: HttpRequest, exc: ValidationError) -> JsonResponse:
    return problem_response(
        status=422,
        code="validation_error",
        title="The request is not valid",
        detail="One or more fields are missing or invalid; see `errors`.",
        errors=exc.errors,
    )


def _from_authentication_error(request: HttpRequest, exc: AuthenticationError) -> JsonResponse:
    # Ninja raises this when no bearer credentials were sent at all. RFC 6750 §3.1: a
    # challenge without an error code, since the client simply has not authenticated.
    return problem_response(
        status=401,
        code="not_authenticated",
        title="Authentication required",
        detail="Send an access token as `Authorization: Bearer <token>`.",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def _from_http_error(request: HttpRequest, exc: HttpError) -> JsonResponse:
    # Ninja wraps whatever its body parser raises in a 400; a Problem of ours (core.parsers' 415) keeps its own.
    if isinstance(exc.__cause__, Problem):
        return _from_problem(request, exc.__cause__)
    return status_problem(exc.status_code, detail=str(exc))


def _from_http404(request: HttpRequest, exc: Http404) -> JsonResponse:
    return status_problem(404, detail="Nothing here matches the request.")


def _from_unreadable_body(request: HttpRequest, exc: UnreadablePostError) -> JsonResponse:
    # The client stopped sending its body (gunicorn.conf.py bounds each read of it).
    return status_problem(400, detail="The request body stopped arriving before it was complete.")


def _from_malformed_multipart(request: HttpRequest, exc: MultiPartParserError) -> JsonResponse:
    # Read lazily, inside the view, so Django's own 400 for it never applies: a client's body, never a 500.
    return status_problem(400, detail="The multipart body could not be parsed.")


def _from_request_data_too_big(request: HttpRequest, exc: RequestDataTooBig) -> JsonResponse:
    _log_suspicious(request, exc)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return status_problem(413, detail=f"The request body is larger than the {limit} bytes this API accepts.")


def _from_suspicious_operation(request: HttpRequest, exc: SuspiciousOperation) -> JsonResponse:
    _log_suspicious(request, exc)
    return status_problem(400, detail="The request was refused as malformed.")


def _log_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> None:
    # Where Django logs these itself, but one line: the client did it, a traceback would not help.
    logging.getLogger(f"django.security.{type(exc).__name__}").warning(
        "%s %s refused: %s", request.method, request.path, exc
    )


def _from_unexpected(request: HttpRequest, exc: Exception) -> JsonResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return status_problem(500, detail="The server failed to handle the request; it has been logged.")


_HANDLERS: tuple[tuple[type[Exception], Callable[[HttpRequest, Any], JsonResponse]], ...] = (
    (Problem, _from_problem),
    (ValidationError, _from_validation_error),
    (AuthenticationError, _from_authentication_error),
    (HttpError, _from_http_error),
    (Http404, _from_http404),
    (UnreadablePostError, _from_unreadable_body),
    (MultiPartParserError, _from_malformed_multipart),
    (RequestDataTooBig, _from_request_data_too_big),
    (SuspiciousOperation, _from_suspicious_operation),
    (Exception, _from_unexpected),
)


def install(api: NinjaAPI) -> None:
    # Ninja calls a handler with the exception instance; add_exception_handler's annotation
    # also admits its class, which no handler here takes. The decorator form registers the same.
    for exc_class, handler in _HANDLERS:
        api.exception_handler(exc_class)(handler)
