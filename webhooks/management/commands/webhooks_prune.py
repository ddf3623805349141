"""Deletes the outbox rows that are done with: delivered or abandoned, and older than --days."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q
from django.utils import timezone

from webhooks.models import WebhookMessage


class Command(BaseCommand):
    help = "Deletes delivered and abandoned webhook messages older than --days (default 7); run it daily."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        before = timezone.now() - timedelta(days=days)
        done = Q(delivered_at__isnull=False) | Q(abandoned_at__isnull=False)
        deleted, _ = WebhookMessage.objects.filter(done, created_at__lt=before).delete()
        self.stdout.write(f"{deleted} webhook messages deleted.")
