"""Schemas shared by every app's API: the problem body and the user."""

from datetime import datetime

from ninja import Schema
from pydantic import BaseModel


class ProblemOut(Schema):
    """An RFC 9457 problem; some codes add fields (`errors`, `provider_error`, ...)."""

    type: str
    title: str
    status: int
    detail: str
    code: str


# The base of a request body whose every field is optional. A plain pydantic model, not a Ninja
# Schema: a Schema reads attributes off any JSON value, so a list or a number would pass as an
# empty body instead of a 422.
class OptionalFieldsIn(BaseModel):
    pass


def problem_responses(*statuses: int) -> dict[int, type[ProblemOut]]:
    """Documents an endpoint's problem responses: `response={200: Out, **problem_responses(401)}`."""
    return dict.fromkeys(statuses, ProblemOut)


class UserOut(Schema):
    id: int
    email: str | None
    display_name: str
    avatar_url: str
    date_joined: datetime
