"""The API's body parser: JSON, and only a body that says it is JSON.

A body an HTML form can send without a CORS preflight is `text/plain`,
`application/x-www-form-urlencoded` or `multipart/form-data`. Ninja's parser reads any of
them as JSON when the text is JSON, so a foreign page could post to a JSON endpoint. Refused
here (415 `unsupported_media_type`), no such body reaches a view. Ninja calls `parse_body`
only for JSON body parameters: the form endpoints (Kakao's unlink callback, Apple's
form_post) read request.POST and are not affected.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _
from ninja.parser import Parser

from core.errors import UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"


class JSONParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        media_type, _params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
        if not media_type:
            raise UnsupportedMediaType(
                _("Send the body as %(expected)s, with its Content-Type.") % {"expected": JSON_MEDIA_TYPE}
            )
        if media_type != JSON_MEDIA_TYPE:
            raise UnsupportedMediaType(
                _("Send the body as %(expected)s, not %(sent)s.") % {"expected": JSON_MEDIA_TYPE, "sent": media_type}
            )
        return super().parse_body(request)
