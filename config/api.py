"""The one NinjaAPI: mounts each app's router and installs the problem handlers."""

from ninja import NinjaAPI, Swagger

from accounts.api import auth_router as accounts_auth_router
from accounts.api import users_router
from core import outages, problems
from core.api import router as health_router
from core.openapi import ProblemNinjaAPI
from core.parsers import JSONParser
from core.renderers import JSONRenderer
from mfa.api import auth_router as mfa_auth_router
from mfa.api import users_router as mfa_users_router
from passkeys.api import auth_router as passkeys_auth_router
from passkeys.api import users_router as passkeys_users_router
from social.api import router as social_router
from social.api import webhooks_router as social_webhooks_router
from tokens.api import auth_router, well_known_router
from tokens.auth import session_throttle


class PhoneReadySwagger(Swagger):
    """Ninja's Swagger UI page with a viewport tag and a language (web/templates/web/api_docs.html)."""

    template = "web/api_docs.html"

    def __init__(self) -> None:
        # Deep links turn each operation's path into a link inside its summary button: an interactive
        # element nested in another, and a target under 24 px (WCAG 2.2, axe in tests/e2e/test_pages.py).
        super().__init__(settings={"deepLinking": False})


api = ProblemNinjaAPI(
    title="Auth backend",
    version="1.0.0",
    description=(
        "Social login (Kakao, Google, any OpenID Connect provider) exchanged on the backend, "
        "then the API's own JWT access/refresh pairs.\n\n"
        "Errors are RFC 9457 `application/problem+json` bodies with a stable `code`.\n\n"
        "**To try the protected endpoints:** sign in on [the sign-in page](/), copy its access "
        "token, click **Authorize** below and paste it."
    ),
    urls_namespace="api",
    docs=PhoneReadySwagger(),
    # Endpoints without throttles of their own: authenticated requests are limited per session.
    throttle=session_throttle,
    renderer=JSONRenderer(),
    parser=JSONParser(),
)
problems.install(api)
outages.install(api)

# The token endpoints first: Django tries URL patterns in order, and refresh, whoami and logout
# are what clients call most (each pattern before the match costs every request; docs/benchmarks.md).
api.add_router("/auth", auth_router)
api.add_router("/health", health_router)
api.add_router("/auth/social", social_router)
api.add_router("/auth", accounts_auth_router)
api.add_router("/auth", social_webhooks_router)
api.add_router("/users", users_router)
api.add_router("/auth", mfa_auth_router)
api.add_router("/users", mfa_users_router)
api.add_router("/auth", passkeys_auth_router)
api.add_router("/users", passkeys_users_router)

# /.well-known/ (RFC 8615): what other services read to verify this API's tokens.
well_known = NinjaAPI(
    title="Auth backend discovery",
    version="1.0.0",
    urls_namespace="well-known",
    docs_url=None,
    openapi_url=None,
    renderer=JSONRenderer(),
)
problems.install(well_known)
well_known.add_router("", well_known_router)
