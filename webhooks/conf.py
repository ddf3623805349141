"""The webhooks app's settings, read through `webhook_settings()` (see core.conf).

WEBHOOKS_JSON lists the endpoints: [{"url", "secret": "whsec_...", "events": [...]}]. The
accessor keeps what it can read; webhooks.checks says what is wrong with the rest.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.conf import settings_accessor


@dataclass(frozen=True)
class Endpoint:
    url: str
    # The Standard Webhooks secret, "whsec_" and base64 of its bytes; never logged.
    secret: str
    events: frozenset[str]


@dataclass(frozen=True)
class WebhookSettings:
    endpoints: tuple[Endpoint, ...]
    # Event type -> the endpoints subscribed to it: what event_publish reads before anything else.
    subscribers: dict[str, tuple[Endpoint, ...]]
    # One wall-clock bound on a delivery's request: connect, send and the whole answer.
    delivery_deadline: float


def _endpoint(entry: Any) -> Endpoint | None:
    if not isinstance(entry, dict):
        return None
    url, secret, events = entry.get("url"), entry.get("secret"), entry.get("events")
    if not isinstance(url, str) or not isinstance(secret, str) or not isinstance(events, list):
        return None
    return Endpoint(url=url, secret=secret, events=frozenset(str(event) for event in events))


def endpoints_read(raw: Any) -> list[Endpoint | None]:
    """Each entry of WEBHOOKS_JSON as an Endpoint, or None where its shape is wrong."""
    return [_endpoint(entry) for entry in raw] if isinstance(raw, list) else [None]


@settings_accessor
def webhook_settings() -> WebhookSettings:
    endpoints = tuple(endpoint for endpoint in endpoints_read(settings.WEBHOOKS_JSON) if endpoint is not None)
    subscribers: dict[str, tuple[Endpoint, ...]] = {}
    for endpoint in endpoints:
        for event in endpoint.events:
            subscribers[event] = (*subscribers.get(event, ()), endpoint)
    return WebhookSettings(
        endpoints=endpoints, subscribers=subscribers, delivery_deadline=settings.WEBHOOKS_DELIVERY_DEADLINE
    )


def endpoint_get(url: str) -> Endpoint | None:
    return next((endpoint for endpoint in webhook_settings().endpoints if endpoint.url == url), None)
