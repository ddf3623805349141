"""Ninja's bearer authentication for the API's own access tokens."""

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from core.http import AuthenticatedRequest
from core.throttling import Throttle
from tokens.errors import NotAuthenticated
from tokens.services import Principal, access_token_authenticate


def _authorization_header(request: HttpRequest) -> str | None:
    return request.META.get("HTTP_AUTHORIZATION") or request.headers.get("Authorization")


def bearer_token(request: HttpRequest) -> str | None:
    """The bearer token of a request, unverified, for an endpoint whose service decides what it is worth."""
    scheme, _sep, token = (_authorization_header(request) or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class JWTAuth(HttpBearer):
    """Sets `request.auth` to a Principal built from the access token's claims.

    No database query: endpoints that need the user load it themselves
    (accounts.selectors.user_get).
    """

    def __call__(self, request: HttpRequest) -> Principal | None:
        # Overrides HttpBearer.__call__, which logs the whole header (a secret) when the
        # scheme is not Bearer and DEBUG is on. META first: building request.headers costs
        # more than the rest of a cached token check (measured in a gunicorn worker); the
        # fallback serves clients that put the header in META under another case, as
        # Ninja's TestClient does.
        header = _authorization_header(request)
        if not header:
            return None  # Ninja answers with the not_authenticated problem.
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != self.openapi_scheme:
            raise NotAuthenticated(_("The Authorization header must use the Bearer scheme."))
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        return access_token_authenticate(token=token)


jwt_auth = JWTAuth()
# The request of an endpoint behind jwt_auth (for annotations).
PrincipalRequest = AuthenticatedRequest[Principal]


def _session_of(request: HttpRequest) -> str | None:
    principal = getattr(request, "auth", None)
    return str(principal.session_id) if isinstance(principal, Principal) else None


# Every authenticated endpoint, per session: many users behind one NAT do not share a budget.
# config/api.py makes it the API's default; endpoints with throttles of their own list it.
# Counted per process (core.throttling): a bearer check stays free of network round trips.
session_throttle = Throttle("session", _session_of, per_process=True)
