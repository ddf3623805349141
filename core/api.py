"""The one NinjaAPI: mounts each app's router and installs the problem handlers."""

from ninja import NinjaAPI, Schema

from core import problems
from core.schemas import problem_responses
from core.services import health_check
from social.api import router as social_router
from tokens.api import auth_router, users_router

api = NinjaAPI(
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
)
problems.install(api)


class HealthOut(Schema):
    status: str
    database: str
    cache: str


class LivenessOut(Schema):
    status: str


@api.get("/health", response={200: HealthOut, **problem_responses(503)}, tags=["health"])
def health(request):
    """Readiness: the database and the cache answer."""
    return health_check()


@api.get("/health/live", response=LivenessOut, tags=["health"])
def liveness(request):
    """Liveness: the process serves requests (touches nothing else)."""
    return {"status": "ok"}


api.add_router("/auth/social", social_router)
api.add_router("/auth", auth_router)
api.add_router("/users", users_router)
