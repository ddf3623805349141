"""Limits of the password endpoints: per client IP, and per email address in the body.

Per IP alone, a botnet guesses one address's password from many addresses; per address
alone, one client sprays many addresses. The address is read from the JSON body before
Ninja parses it (throttles run first) and canonicalised, so that its spellings share one
count (core.throttling hashes it: the cache holds no addresses).
"""

import json

from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from core.clients import client_ip
from core.emails import canonical_email_or_none
from core.throttling import Throttle


def _email_in_body(request: HttpRequest) -> str | None:
    try:
        body = json.loads(request.body)
    except ValueError:
        return None  # Ninja answers 422 for a body that is not JSON.
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return None
    return canonical_email_or_none(email) or email.strip().lower()


password_throttles: list[BaseThrottle] = [Throttle("password", client_ip), Throttle("password_email", _email_in_body)]
