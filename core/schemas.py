"""Schemas shared by every app's API: the problem body and the user."""

import unicodedata
from datetime import datetime
from typing import Annotated

from django.utils.translation import gettext
from ninja import Schema
from pydantic import AfterValidator, BaseModel, Field

from core.languages import language_valid
from core.models import LANGUAGE_MAX_LENGTH

# Bidirectional overrides and isolates: text that reads one way and is stored another.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable_text(value: str) -> str:
    """Refuses control characters (NUL, which PostgreSQL cannot store, CR/LF, ...) and bidi overrides."""
    if any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in value):
        raise ValueError(gettext("must not contain control characters"))
    return value


# Text a person chose and others will read (a display name): a 422, never a 500 or a forged line.
PrintableText = Annotated[str, AfterValidator(_printable_text)]


# A language code of settings.LANGUAGES, checked against them when the request is read (a 422 otherwise).
Language = Annotated[str, Field(max_length=LANGUAGE_MAX_LENGTH, examples=["ko"]), AfterValidator(language_valid)]


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
    language: str = Field(description='The language of emails to the user; "" until known (docs/i18n.md).')
