"""The API's JSON renderer (core.renderers): pydantic-core, with Ninja's encoder for what it does not know."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy

from config.api import api, well_known
from core.renderers import JSONRenderer


def render(data: object) -> bytes:
    return JSONRenderer().render(None, data, response_status=200)  # type: ignore[arg-type]


def test_uuids_and_datetimes_are_written_as_the_schemas_declare_them():
    session_id = uuid.UUID("5fdf1053-08bb-487e-9f41-c0d51663cd78")
    moment = datetime(2026, 11, 27, 1, 52, 25, 123456, tzinfo=UTC)
    assert render({"session_id": session_id, "at": moment}) == (
        b'{"session_id":"5fdf1053-08bb-487e-9f41-c0d51663cd78","at":"2026-11-27T01:52:25.123456Z"}'
    )


def test_what_pydantic_core_does_not_know_goes_to_ninjas_encoder():
    # A lazy translation string (Django's Promise) is Ninja's encoder's business: str().
    assert json.loads(render({"detail": gettext_lazy("Not found."), "amount": Decimal("1.50")})) == {
        "detail": "Not found.",
        "amount": "1.50",
    }


def test_non_ascii_is_utf8_not_escaped():
    assert render({"name": "홍길동"}) == '{"name":"홍길동"}'.encode()


def test_both_apis_render_with_it():
    assert isinstance(api.renderer, JSONRenderer)
    assert isinstance(well_known.renderer, JSONRenderer)
