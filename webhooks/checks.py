"""Start-up checks of WEBHOOKS_JSON: every endpoint readable, https, a real secret, known event types."""

import base64
import binascii
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from webhooks.conf import endpoints_read
from webhooks.events import EventType
from webhooks.models import ENDPOINT_URL_MAX_LENGTH

# Standard Webhooks asks for 24 to 64 bytes of secret.
SECRET_MIN_BYTES = 24
_PREFIX = "whsec_"
_HINT = 'WEBHOOKS_JSON is a list of {"url", "secret": "whsec_...", "events": [...]} (docs/webhooks.md).'


def _secret_bytes(secret: str) -> int:
    if not secret.startswith(_PREFIX):
        return 0
    try:
        return len(base64.b64decode(secret.removeprefix(_PREFIX), validate=True))
    except binascii.Error:
        return 0


@register(Tags.security)
def webhook_endpoints_valid(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[str] = []
    urls: set[str] = set()
    for number, endpoint in enumerate(endpoints_read(settings.WEBHOOKS_JSON), start=1):
        if endpoint is None:
            problems.append(f"endpoint {number} is not an object with a url, a secret and a list of events")
            continue
        scheme = urlsplit(endpoint.url).scheme
        if scheme != "https" and not (scheme == "http" and settings.DEBUG):
            problems.append(f"endpoint {number}'s url is not https (plain http only with DJANGO_DEBUG)")
        if len(endpoint.url) > ENDPOINT_URL_MAX_LENGTH:
            problems.append(f"endpoint {number}'s url is longer than {ENDPOINT_URL_MAX_LENGTH} characters")
        if endpoint.url in urls:
            problems.append(f"endpoint {number}'s url is listed twice")
        urls.add(endpoint.url)
        if _secret_bytes(endpoint.secret) < SECRET_MIN_BYTES:
            problems.append(f"endpoint {number}'s secret is not whsec_ and base64 of {SECRET_MIN_BYTES} bytes or more")
        if unknown := sorted(endpoint.events - set(EventType)):
            problems.append(f"endpoint {number} lists unknown event types: {', '.join(unknown)}")
        if not endpoint.events:
            problems.append(f"endpoint {number} lists no event type")
    return [Error(f"WEBHOOKS_JSON: {problem}.", hint=_HINT, id="webhooks.E001") for problem in problems]
