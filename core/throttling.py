"""Per-client rate limits for the endpoints anyone can call, with Ninja's throttling.

/authorize stores a pending login per call and /callback calls the provider, so without a
limit one client could fill the cache or make the API hammer Kakao and Google. The counters
live in Django's cache: shared between workers with REDIS_URL.
"""

from django.http import HttpRequest
from ninja.throttling import AnonRateThrottle

from core.conf import core_settings


class ClientRateThrottle(AnonRateThrottle):
    """Requests per client IP within `scope`, at the rate API_THROTTLE_RATES gives it now.

    Ninja parses a throttle's rate once, when the router is built; this one reads it on
    every request, so that settings overrides apply and an empty rate turns it off.
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def allow_request(self, request: HttpRequest) -> bool:
        rate = core_settings().throttle_rates.get(self.scope)
        if not rate:
            return True
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)


sign_in_throttle = ClientRateThrottle("sign_in")
token_throttle = ClientRateThrottle("tokens")
