"""Publishing events: one outbox row per subscribed endpoint, in the caller's transaction.

The services of accounts, social and tokens call `event_publish` (one line each) where the
change happens, inside its transaction when it has one. Nothing is read from the database
before the settings say an endpoint subscribes to the event type: a sign-in or a logout
that nobody listens to costs no query.
"""

from collections.abc import Iterable

from django.db import transaction
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

from webhooks.conf import webhook_settings
from webhooks.events import EventType, event_body, event_id_new
from webhooks.models import WebhookMessage


def event_publish(event_type: EventType, *, user_id: int, data: dict[str, object]) -> None:
    """Queues the event for every endpoint subscribed to its type; its data gets `user_id` (docs/webhooks.md)."""
    events_publish(event_type, events=[(user_id, data)])


def events_publish(event_type: EventType, *, events: Iterable[tuple[int, dict[str, object]]]) -> None:
    """`event_publish` for several users' events of one type at once (sessions ended in bulk): one INSERT."""
    endpoints = webhook_settings().subscribers.get(event_type)
    if not endpoints:
        return
    messages = []
    for user_id, data in events:
        body, event_id = event_body(event_type, {"user_id": str(user_id), **data}), event_id_new()
        messages += [
            WebhookMessage(
                event_id=event_id, endpoint_url=endpoint.url, user_id=user_id, event_type=event_type, body=body
            )
            for endpoint in endpoints
        ]
    if not messages:
        return
    WebhookMessage.objects.bulk_create(messages)
    for url, user_id in dict.fromkeys((message.endpoint_url, message.user_id) for message in messages):
        _deliver_after_commit(url=url, user_id=user_id)


def _deliver_after_commit(*, url: str, user_id: int) -> None:
    """Enqueues the delivery of the (endpoint, user) queue, with the change.

    A backend that stores tasks (the database backend) writes the task's row in the change's
    transaction: both commit or neither. One that runs a task at once (the immediate backend)
    must wait for the commit, or it would send a change that may still roll back.
    """
    from webhooks.tasks import webhook_deliver  # the tasks module imports this one

    if task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer:
        webhook_deliver.enqueue(url=url, user_id=user_id)
    else:
        transaction.on_commit(lambda: webhook_deliver.enqueue(url=url, user_id=user_id))
