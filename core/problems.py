"""RFC 9457 problem details: the one place where errors become HTTP responses.

`install(api)` registers the handlers on the NinjaAPI; `ApiProblemMiddleware` covers what
happens outside Ninja's views (unknown URLs, 405s) under /api/.

`title` and `detail` are rendered here, in the language LocaleMiddleware chose for the
request (docs/i18n.md); `type`, `code` and the added fields are the same in every language.
"""

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import Problem, Text
from core.events import emit

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

# Code and title for statuses that reach us without a Problem class of their own (the titles: RFC 9110's
# reason phrases, translated).
_CODE_BY_STATUS: dict[int, tuple[str, Text]] = {
    400: ("bad_request", _("Bad Request")),
    401: ("not_authenticated", _("Unauthorized")),
    403: ("forbidden", _("Forbidden")),
    404: ("not_found", _("Not Found")),
    405: ("method_not_allowed", _("Method Not Allowed")),
    413: ("payload_too_large", _("Request Entity Too Large")),
    415: ("unsupported_media_type", _("Unsupported Media Type")),
    422: ("validation_error", _("Unprocessable Entity")),
    429: ("throttled", _("Too Many Requests")),
    500: ("server_error", _("Internal Server Error")),
    503: ("service_unavailable", _("Service Unavailable")),
}


def problem_type(code: str) -> str:
    """The `type` URI of a problem: a relative reference that names the code (README lists them)."""
    return f"/problems/{code}"


def problem_response(
    *,
    status: int,
    code: str,
    title: Text | None = None,
    detail: Text | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    title = title or HTTPStatus(status).phrase
    body = {
        "type": problem_type(code),
        # Lazy translations become text here, in the request's language.
        "title": str(title),
        "status": status,
        "detail": str(detail or title),
        "code": code,
        **extra,
    }
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def status_problem(status: int, **kwargs: Any) -> JsonResponse:
    code, title = _CODE_BY_STATUS.get(status, ("error", HTTPStatus(status).phrase))
    return problem_response(status=status, code=code, **{"title": title, **kwargs})


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


# Pydantic's messages for the common error types, by `type`, with `ctx` for the placeholders. Pydantic has no
# translations: a language that has one of these gets it as `msg`; any other type, and a language without one
# (English), keeps pydantic's own `msg`. `type`, `loc` and `ctx` never change.
_FIELD_MESSAGES: dict[str, Text] = {
    "missing": _("Field required"),
    "extra_forbidden": _("Extra inputs are not permitted"),
    "model_attributes_type": _("Input should be a valid dictionary or object to extract fields from"),
    "dict_type": _("Input should be a valid dictionary"),
    "list_type": _("Input should be a valid list"),
    "string_type": _("Input should be a valid string"),
    "bool_type": _("Input should be a valid boolean"),
    "bool_parsing": _("Input should be a valid boolean"),
    "int_type": _("Input should be a valid integer"),
    "int_parsing": _("Input should be a valid integer"),
    "float_parsing": _("Input should be a valid number"),
    "uuid_parsing": _("Input should be a valid UUID"),
    "string_too_short": _("String should have at least %(min_length)s characters"),
    "string_too_long": _("String should have at most %(max_length)s characters"),
    "greater_than_equal": _("Input should be greater than or equal to %(ge)s"),
    "less_than_equal": _("Input should be less than or equal to %(le)s"),
    "json_invalid": _("Invalid JSON: %(error)s"),
    # The project's own validators raise their ValueError in the request's language already.
    "value_error": _("Value error, %(error)s"),
}


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    message = _FIELD_MESSAGES.get(error.get("type", ""))
    if message is None:
        return error
    translated = str(message)
    with translation.override(None):
        if translated == str(message):
            return error
    try:
        return {**error, "msg": translated % dict(error.get("ctx") or {})}
    except (KeyError, TypeError, ValueError):  # a ctx without the placeholder: pydantic's words are right
        return error


def _from_validation_error(request: HttpRequest, exc: ValidationError) -> JsonResponse:
    return problem_response(
        status=422,
        code="validation_error",
        title=_("The request is not valid"),
        detail=_("One or more fields are missing or invalid; see `errors`."),
        errors=[_field_error(error) for error in exc.errors],
    )


def _from_authentication_error(request: HttpRequest, exc: AuthenticationError) -> JsonResponse:
    # Ninja raises this when no bearer credentials were sent at all. RFC 6750 §3.1: a
    # challenge without an error code, since the client simply has not authenticated.
    return problem_response(
        status=401,
        code="not_authenticated",
        title=_("Authentication required"),
        detail=_("Send an access token as `Authorization: Bearer <token>`."),
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


# Ninja's own HttpErrors (a throttle's 429, a body it cannot parse) carry English text: ours, translated.
_NINJA_DETAILS: dict[int, Text] = {
    400: _("The request body could not be parsed."),
    429: _("Too many requests; retry after the seconds in Retry-After."),
}


def _from_http_error(request: HttpRequest, exc: HttpError) -> JsonResponse:
    # Ninja wraps whatever its body parser raises in a 400; a Problem of ours (core.parsers' 415) keeps its own.
    if isinstance(exc.__cause__, Problem):
        return _from_problem(request, exc.__cause__)
    return status_problem(exc.status_code, detail=_NINJA_DETAILS.get(exc.status_code, str(exc)))


def _from_http404(request: HttpRequest, exc: Http404) -> JsonResponse:
    return status_problem(404, detail=_("Nothing here matches the request."))


def _from_unreadable_body(request: HttpRequest, exc: UnreadablePostError) -> JsonResponse:
    # The client stopped sending its body (gunicorn.conf.py bounds each read of it).
    return status_problem(400, detail=_("The request body stopped arriving before it was complete."))


def _from_malformed_multipart(request: HttpRequest, exc: MultiPartParserError) -> JsonResponse:
    # Read lazily, inside the view, so Django's own 400 for it never applies: a client's body, never a 500.
    return status_problem(400, detail=_("The multipart body could not be parsed."))


def _from_request_data_too_big(request: HttpRequest, exc: RequestDataTooBig) -> JsonResponse:
    _log_suspicious(request, exc)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return status_problem(
        413, detail=_("The request body is larger than the %(limit)s bytes this API accepts.") % {"limit": limit}
    )


def _from_suspicious_operation(request: HttpRequest, exc: SuspiciousOperation) -> JsonResponse:
    _log_suspicious(request, exc)
    return status_problem(400, detail=_("The request was refused as malformed."))


def _log_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> None:
    # Where Django logs these itself, but one line: the client did it, a traceback would not help.
    logging.getLogger(f"django.security.{type(exc).__name__}").warning(
        "%s %s refused: %s", request.method, request.path, exc
    )


def _from_unexpected(request: HttpRequest, exc: Exception) -> JsonResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return status_problem(500, detail=_("The server failed to handle the request; it has been logged."))


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
