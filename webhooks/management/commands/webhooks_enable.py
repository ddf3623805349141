"""Turns a disabled webhook endpoint back on and sends what waited for it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from webhooks.conf import endpoint_get
from webhooks.models import WebhookEndpoint, WebhookMessage
from webhooks.tasks import webhook_deliver


class Command(BaseCommand):
    help = "Re-enables a webhook endpoint that failed for a day, and queues its waiting messages at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="The endpoint's url, as WEBHOOKS_JSON lists it.")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        if endpoint_get(url) is None:
            raise CommandError(f"{url} is not an endpoint of WEBHOOKS_JSON.")
        with transaction.atomic():
            WebhookEndpoint.objects.filter(url=url).update(disabled_at=None, failing_since=None)
            pending = WebhookMessage.objects.filter(
                endpoint_url=url, delivered_at__isnull=True, abandoned_at__isnull=True
            )
            pending.update(next_attempt_at=timezone.now())
            user_ids = list(pending.values_list("user_id", flat=True).distinct())
        for user_id in user_ids:
            webhook_deliver.enqueue(url=url, user_id=user_id)
        self.stdout.write(f"{url} enabled; {len(user_ids)} users' messages queued.")
