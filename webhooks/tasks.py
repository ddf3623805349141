"""Delivering the outbox (core.tasks): one task per (endpoint, user) queue, oldest message first.

A failure stops the queue: the message is tried again after WEBHOOK_RETRIES' backoff, with the
same webhook-id, and the user's later messages wait behind it, so a receiver sees each user's
events in order. A message whose schedule runs out is abandoned (logged) and the queue moves
on. An endpoint that has failed for DISABLE_AFTER is disabled: no worker sends to it until
`manage.py webhooks_enable URL` (its messages keep queueing meanwhile).

Two workers may drain one queue at once (a retry and a new event's task): a message may then
arrive twice, never before an earlier one of its user was first delivered. Receivers drop
repeats by webhook-id (at least once, docs/webhooks.md).
"""

import logging
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone
from django_tasks import task

from core.conf import core_settings
from core.tasks import RetrySchedule, task_retry
from webhooks.conf import endpoint_get, webhook_settings
from webhooks.delivery import message_post
from webhooks.models import WebhookEndpoint, WebhookMessage

logger = logging.getLogger(__name__)

# 1 min, 2, 4 ... 1024 min: the 12th and last attempt about 34 hours after the first.
WEBHOOK_RETRIES = RetrySchedule(first_delay=timedelta(minutes=1), factor=2, max_attempts=12)
DISABLE_AFTER = timedelta(days=1)


# Its own queue and worker (docs/operations.md): a delivery may wait WEBHOOKS_DELIVERY_DEADLINE on each
# message, and an email must not wait behind it.
WEBHOOKS_QUEUE = "webhooks"


@task(queue_name=WEBHOOKS_QUEUE)
def webhook_deliver(*, url: str, user_id: int, attempt: int = 1) -> None:
    """Sends the user's waiting messages to the endpoint, in order, until one fails or none is left.

    `attempt` is task_retry's count; the message's own `attempts` is what the schedule follows,
    since a new event's task may run the head message before its retry does.
    """
    endpoint = endpoint_get(url)
    if endpoint is None:
        return  # no longer configured: its messages wait, should it come back
    pending = WebhookMessage.objects.filter(
        endpoint_url=url, user_id=user_id, delivered_at__isnull=True, abandoned_at__isnull=True
    ).order_by("id")
    # A task still running at TASKS_STRANDED_AFTER counts as its dead worker's and runs again beside this one:
    # a message may take the deadline, so none starts after the bound less it, and a new task takes the rest.
    hand_over_at = (
        timezone.now() + core_settings().tasks_stranded_after - timedelta(seconds=webhook_settings().delivery_deadline)
    )
    while not WebhookEndpoint.objects.filter(url=url, disabled_at__isnull=False).exists():
        message = pending.first()
        if message is None:
            return
        now = timezone.now()
        if now >= hand_over_at:
            webhook_deliver.enqueue(url=url, user_id=user_id)
            return
        if message.next_attempt_at > now:
            return  # failing: its retry is scheduled, and the later ones wait for it
        error = message_post(endpoint, event_id=message.event_id, body=message.body)
        if error is None:
            WebhookMessage.objects.filter(pk=message.pk).update(delivered_at=timezone.now(), attempts=F("attempts") + 1)
            WebhookEndpoint.objects.filter(url=url, failing_since__isnull=False).update(failing_since=None)
            continue
        disabled = _endpoint_failure(url, now=now)
        abandoned = _message_failure(message, error=error, now=now, endpoint_disabled=disabled)
        if disabled:
            return  # the message waits for `manage.py webhooks_enable`
        if not abandoned:
            task_retry(webhook_deliver, attempt=message.attempts, schedule=WEBHOOK_RETRIES, url=url, user_id=user_id)
            return


def _message_failure(message: WebhookMessage, *, error: str, now: datetime, endpoint_disabled: bool) -> bool:
    """Counts a failed attempt and schedules the next; returns whether the message is abandoned instead.

    Its schedule runs out while other messages reach the endpoint (it refuses this one), since
    an endpoint that fails everything is disabled first (DISABLE_AFTER is shorter than the
    schedule), and then the message waits for it to be enabled again."""
    message.attempts += 1
    message.last_error = error
    abandoned = message.attempts >= WEBHOOK_RETRIES.max_attempts and not endpoint_disabled
    if abandoned:
        message.abandoned_at = now
        logger.error("Webhook %s abandoned after %d attempts (%s)", message, message.attempts, error)
    else:
        message.next_attempt_at = now + WEBHOOK_RETRIES.delay(message.attempts)
        logger.warning("Webhook %s failed on attempt %d (%s)", message, message.attempts, error)
    message.save(update_fields=["attempts", "last_error", "abandoned_at", "next_attempt_at"])
    return abandoned


def _endpoint_failure(url: str, *, now: datetime) -> bool:
    """Notes when the endpoint began failing, and disables it once that is DISABLE_AFTER ago; returns
    whether it is disabled."""
    endpoint, _ = WebhookEndpoint.objects.get_or_create(url=url, defaults={"failing_since": now})
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    elif now - endpoint.failing_since >= DISABLE_AFTER and endpoint.disabled_at is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=now)
        logger.error(
            "Webhook endpoint %s disabled: failing since %s; `manage.py webhooks_enable URL` turns it back on",
            endpoint,
            endpoint.failing_since.isoformat(),
        )
        return True
    return endpoint.disabled_at is not None
