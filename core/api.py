"""The ground's own endpoints: liveness and readiness."""

from ninja import Router, Schema

from core.schemas import problem_responses
from core.services import health_check

router = Router(tags=["health"])


class HealthOut(Schema):
    status: str
    database: str
    cache: str


class LivenessOut(Schema):
    status: str


@router.get("", response={200: HealthOut, **problem_responses(503)})
def health(request):
    """Readiness: the database and the cache answer."""
    return health_check()


@router.get("/live", response=LivenessOut)
def liveness(request):
    """Liveness: the process serves requests (touches nothing else)."""
    return {"status": "ok"}
