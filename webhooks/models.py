"""The outbox of webhook messages, and each endpoint's health, shared by every worker.

A message is one event for one endpoint, written in the transaction of the change it reports
(webhooks.services.event_publish), so a change rolled back sends nothing and a committed one
cannot lose its event. Messages leave in `id` order per (endpoint, user): a user's later event
waits while an earlier one is failing.
"""

from urllib.parse import urlsplit

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import PartialIndex


def endpoint_host(url: str) -> str:
    """How logs name an endpoint: its host and port, since a receiver's path or query may hold a token."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


# Long enough for any real receiver; short enough for a unique key on MySQL and MariaDB (mysql.W003) and the
# (endpoint_url, user_id, id) index.
ENDPOINT_URL_MAX_LENGTH = 255


class WebhookMessage(models.Model):
    # The webhook-id header, "msg_" and 32 hex digits: one per event, the same on every attempt
    # and at every endpoint, so a receiver can drop what it has already seen.
    event_id = models.CharField(max_length=36)
    endpoint_url = models.CharField(max_length=ENDPOINT_URL_MAX_LENGTH)
    # Not a foreign key: user.deleted outlives the user.
    user_id = models.BigIntegerField()
    event_type = models.CharField(max_length=32)
    # The JSON body exactly as signed and sent, on every attempt.
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    # The next attempt is not made before this (the backoff after a failure).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set when the retry schedule ran out: the message is not sent again, the next one goes.
    abandoned_at = models.DateTimeField(null=True, blank=True)
    # The last failure: a status code or an exception's class, never a body.
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint_url", "event_id"], name="webhooks_message_event")]
        indexes = [
            # The head of each (endpoint, user) queue, in one probe.
            PartialIndex(
                fields=["endpoint_url", "user_id", "id"],
                name="webhooks_message_pending",
                where=Q(delivered_at__isnull=True, abandoned_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {endpoint_host(self.endpoint_url)}"


class WebhookEndpoint(models.Model):
    """What the workers know of an endpoint: failing since when, disabled or not (re-enabled by
    `manage.py webhooks_enable URL`). Configured in WEBHOOKS_JSON, not here."""

    url = models.CharField(max_length=ENDPOINT_URL_MAX_LENGTH, unique=True)
    # The first failure since the last success; a day of failures disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return endpoint_host(self.url)
