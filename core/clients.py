"""Who the client is: the one rule for throttles, session records and the event log.

X-Forwarded-For is whatever the client wrote, plus one address per proxy it passed. Only
the proxies we run are to be believed, so API_NUM_PROXIES says how many sit in front of
gunicorn (0: none, and the header is ignored). Each of them appends the address it was
connected from, so with N proxies the N-th address from the right is the one the outermost
proxy saw: the client. Anything further left was written by the client and is not trusted.
"""

import ipaddress

from django.http import HttpRequest

from core.conf import core_settings


def client_ip(request: HttpRequest) -> str:
    """The client's IP address: REMOTE_ADDR, or the right-most untrusted X-Forwarded-For entry."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxies = core_settings().num_proxies
    if proxies == 0:
        return remote_addr
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Fewer entries than proxies: the request did not come through all of them, so the
    # chain vouches for nothing and the peer's own address is all we know.
    if len(forwarded) < proxies or not _is_ip(forwarded[-proxies]):
        return remote_addr
    return forwarded[-proxies]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
