"""Receive the auth API's webhooks as another service would: verified with the spec's own library.

It imports nothing of the project: only the standard library and `standardwebhooks`
(`pip install standardwebhooks`). Each POST is verified (signature over id.timestamp.body,
timestamp within five minutes) before its JSON is read; a request that fails is answered 400
and never acted on. Deliveries are at least once: a repeated `webhook-id` is acknowledged and
skipped (here in memory; a real service keeps the ids it has processed in its database).

    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8009

Prints each verified event as JSON. Serve it behind HTTPS: the API sends to https URLs only
(plain http with DJANGO_DEBUG), and `manage.py webhooks_test http://127.0.0.1:8009/` sends a test event.
"""

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def receiver(secret: str, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server that verifies, deduplicates and prints the webhooks signed with `secret`."""
    webhook = Webhook(secret)
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = webhook.verify(body, dict(self.headers.items()))
            except WebhookVerificationError:
                self._answer(400)
                return
            event_id = self.headers["webhook-id"]
            if event_id not in seen:  # at least once: the same id may come again
                seen.add(event_id)
                print(json.dumps({"id": event_id, **event}), flush=True)
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8009)
    args = parser.parse_args()
    receiver(os.environ["WEBHOOK_SECRET"], args.port).serve_forever()


if __name__ == "__main__":
    main()
