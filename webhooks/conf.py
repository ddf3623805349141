"""The webhooks app's settings, declared and validated in one form (core.conf.AppSettings).

WEBHOOKS_JSON lists the endpoints: [{"url", "secret": "whsec_...", "events": [...]}]. The
accessor keeps what it can read; webhooks.checks says what is wrong with the rest, every
endpoint's faults at once.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from core.conf import AppSettings, settings_accessor


@dataclass(frozen=True)
class Endpoint:
    url: str
    # The Standard Webhooks secret, "whsec_" and base64 of its bytes; never logged.
    secret: str = field(repr=False)
    events: frozenset[str]


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


def _readable(raw: Any) -> tuple[Endpoint, ...]:
    return tuple(endpoint for endpoint in endpoints_read(raw) if endpoint is not None)


class WebhookSettings(AppSettings):
    endpoints: Annotated[tuple[Endpoint, ...], BeforeValidator(_readable)] = Field(alias="WEBHOOKS_JSON", repr=False)
    # One wall-clock bound on a delivery's request: connect, send and the whole answer.
    delivery_deadline: float = Field(alias="WEBHOOKS_DELIVERY_DEADLINE")

    @cached_property
    def subscribers(self) -> dict[str, tuple[Endpoint, ...]]:
        """Event type -> the endpoints subscribed to it: what event_publish reads before anything else."""
        subscribers: dict[str, tuple[Endpoint, ...]] = {}
        for endpoint in self.endpoints:
            for event in endpoint.events:
                subscribers[event] = (*subscribers.get(event, ()), endpoint)
        return subscribers


webhook_settings = settings_accessor(WebhookSettings.from_django_settings)


def endpoint_get(url: str) -> Endpoint | None:
    return next((endpoint for endpoint in webhook_settings().endpoints if endpoint.url == url), None)
