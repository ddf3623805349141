"""The API's JSON renderer: pydantic-core's serialiser in place of json.dumps."""

from typing import Any

import pydantic_core
from django.http import HttpRequest
from ninja.renderers import JSONRenderer as NinjaJSONRenderer
from ninja.responses import NinjaJSONEncoder


class JSONRenderer(NinjaJSONRenderer):
    """Ninja's JSON renderer, writing with pydantic-core (Rust) instead of `json.dumps`.

    Ninja hands the renderer a response schema's `model_dump()`: UUIDs and datetimes are still
    Python objects, and `json.dumps` sends each through NinjaJSONEncoder.default, a Python call
    per value, a measurable share of a whoami (docs/benchmarks.md). pydantic-core
    writes them natively, as the schemas declare them (a UUID's string, an RFC 3339 datetime
    with `Z` for UTC); anything it does not know still goes to Ninja's encoder. The output is
    compact UTF-8 JSON. Problem bodies (core.problems) are Django's JsonResponse, off this path.
    """

    _fallback = staticmethod(NinjaJSONEncoder().default)

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return pydantic_core.to_json(data, fallback=self._fallback)
