"""Limits of the password endpoints: per client IP (an IPv6 client per network), per email
address in the body, and failed sign-ins apart.

Per IP alone, a botnet guesses one address's password from many addresses; per address
alone, one client sprays many addresses. The address is read from the JSON body before
Ninja parses it (throttles run first) and canonicalised, so that its spellings share one
count (core.throttling hashes it: the cache holds no addresses).

Each budget per address is its own, so that spending one blocks nothing else: sign-up and
resend share one, reset has its own, and password sign-in counts only its failures
(`sign_in_failures`, in the service), per address for clients that never signed in to that
account and per device for those that did (accounts.devices). A botnet guessing at an
address then locks out other guessers, not the owner's devices (OWASP's device cookies,
NIST SP 800-63B §5.2.2).
"""

import json

from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from core.clients import client_network
from core.emails import canonical_email_or_none
from core.throttling import FailureLimit, Throttle


def _email_in_body(request: HttpRequest) -> str | None:
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None  # Ninja answers the body's problem.
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return None
    return canonical_email_or_none(email) or email.strip().lower()


_per_ip = Throttle("password", client_network)
# Sign-up, resend, and the emailed links' endpoints (no address in their bodies: per IP only).
password_throttles: list[BaseThrottle] = [_per_ip, Throttle("password_email", _email_in_body)]
reset_throttles: list[BaseThrottle] = [_per_ip, Throttle("password_reset_email", _email_in_body)]
sign_in_throttles: list[BaseThrottle] = [_per_ip]
sign_in_failures = FailureLimit("sign_in_email")
# Emailed codes: requests per address (each replaces the address's code and sends an email), and wrong
# codes per address on top of each code's own five tries, so that asking for new codes buys no guesses.
email_code_throttles: list[BaseThrottle] = [_per_ip, Throttle("email_code_email", _email_in_body)]
email_code_failures = FailureLimit("email_code_failures")
