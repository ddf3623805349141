"""Sends one signed test event to a URL, at once, and says what it answered."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks.conf import Endpoint, endpoint_get
from webhooks.delivery import message_post
from webhooks.events import event_body, event_id_new

TEST_EVENT = "webhook.test"


class Command(BaseCommand):
    help = (
        "Sends a signed `webhook.test` event to URL, with the secret WEBHOOKS_JSON gives that url, "
        "or --secret for a receiver not configured yet."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")
        parser.add_argument("--secret", help="whsec_... to sign with instead of the configured endpoint's.")

    def handle(self, *args: Any, url: str, secret: str | None, **options: Any) -> None:
        if secret is None:
            configured = endpoint_get(url)
            if configured is None:
                raise CommandError(f"{url} is not an endpoint of WEBHOOKS_JSON: give --secret.")
            secret = configured.secret
        event_id = event_id_new()
        error = message_post(
            Endpoint(url=url, secret=secret, events=frozenset()), event_id=event_id, body=event_body(TEST_EVENT, {})
        )
        if error is not None:
            raise CommandError(f"{url} did not accept {event_id}: {error}.")
        self.stdout.write(f"{url} accepted {event_id}.")
