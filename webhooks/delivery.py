"""One signed POST to an endpoint, per Standard Webhooks, bounded by one wall-clock deadline.

requests' timeout bounds each socket read, not the call: a receiver that sends a byte every
few seconds would hold the worker for ever. So the request runs inside social.outbound's
deadline, which cuts its sockets when the time is up (WEBHOOKS_DELIVERY_DEADLINE).
"""

import requests
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from social.outbound import provider_deadline, session_with_deadline
from webhooks.conf import Endpoint, webhook_settings


def signed_headers(endpoint: Endpoint, *, event_id: str, body: str) -> dict[str, str]:
    """webhook-id, webhook-timestamp (now: a retry is signed afresh) and webhook-signature."""
    now = timezone.now()
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(msg_id=event_id, timestamp=now, data=body),
    }


def message_post(endpoint: Endpoint, *, event_id: str, body: str) -> str | None:
    """Sends one message; None when the endpoint answered 2xx, else what went wrong (no body)."""
    deadline = webhook_settings().delivery_deadline
    headers = signed_headers(endpoint, event_id=event_id, body=body)
    try:
        with provider_deadline(deadline), session_with_deadline(requests.Session()) as session:
            response = session.post(
                endpoint.url, data=body.encode(), headers=headers, timeout=deadline, allow_redirects=False
            )
    except requests.RequestException as exc:
        return type(exc).__name__
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
