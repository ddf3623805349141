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


def client_network(request: HttpRequest) -> str:
    """Who a per-IP limit counts: the client's IPv4 address, or its IPv6 network (API_THROTTLE_IPV6_PREFIX bits).

    One IPv6 subscriber gets a whole /64 (often a /56 or a /48) and picks any address in it, so a
    limit per IPv6 address is a limit per nothing: 40 resets from 40 addresses of one /64.
    """
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return address
    if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
        return str(ip.ipv4_mapped)
    network = ipaddress.ip_network(f"{address}/{core_settings().ipv6_prefix}", strict=False)
    return str(network)


def client_user_agent(request: HttpRequest) -> str:
    """The User-Agent as the client wrote it: WSGI hands header bytes over as Latin-1, so a UTF-8 one
    (`Mozilla/5.0 ... 가`) would be stored as mojibake; bytes that are not UTF-8 become U+FFFD."""
    raw = request.headers.get("User-Agent", "")
    try:
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # not from WSGI (a test client's str): already text
        return raw


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
