"""The API's OpenAPI document, made to describe the responses as they are sent."""

from http import HTTPStatus
from typing import Any

from ninja import NinjaAPI

from core.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from core.schemas import ProblemOut

_PROBLEM_SCHEMA = {"$ref": f"#/components/schemas/{ProblemOut.__name__}"}

# Problems that Ninja and Django answer before an endpoint's own code runs, for every
# operation of a kind, so no endpoint has to remember to declare them.
_BODY_PROBLEMS = (
    HTTPStatus.BAD_REQUEST,  # the body is not JSON
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,  # over DATA_UPLOAD_MAX_MEMORY_SIZE
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,  # a body not declared application/json (core.parsers)
    HTTPStatus.UNPROCESSABLE_ENTITY,  # the body does not match its schema
)
_PARAMETER_PROBLEMS = (HTTPStatus.UNPROCESSABLE_ENTITY,)  # a path or query parameter does not match
_AUTH_PROBLEMS = (HTTPStatus.UNAUTHORIZED,)  # no token, or one that is not valid


class ProblemNinjaAPI(NinjaAPI):
    """A NinjaAPI whose document declares every problem it can answer, as `application/problem+json`.

    Ninja declares every response under its renderer's media type (application/json), but
    core.problems sends errors as RFC 9457 problem+json; a client or a schema checker that
    trusts the document would reject them.
    """

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        document = super().get_openapi_schema(**kwargs)
        for path_item in document["paths"].values():
            for operation in path_item.values():
                self._declare_framework_problems(operation)
                for response in operation["responses"].values():
                    content = response.get("content", {})
                    if content.get(self.renderer.media_type, {}).get("schema") == _PROBLEM_SCHEMA:
                        content[PROBLEM_CONTENT_TYPE] = content.pop(self.renderer.media_type)
        return document

    def _declare_framework_problems(self, operation: dict[str, Any]) -> None:
        statuses: list[HTTPStatus] = []
        if "requestBody" in operation:
            statuses += _BODY_PROBLEMS
        if operation.get("parameters"):
            statuses += _PARAMETER_PROBLEMS
        if operation.get("security"):
            statuses += _AUTH_PROBLEMS
        for status in statuses:
            operation["responses"].setdefault(
                status.value,
                {"description": status.phrase, "content": {self.renderer.media_type: {"schema": _PROBLEM_SCHEMA}}},
            )
