"""The ground's own endpoints: liveness and readiness."""

from django.http import HttpRequest
from ninja import Router, Schema

from core.schemas import problem_responses
from core.services import readiness_check

router = Router(tags=["health"])

# HEAD answered as GET (gunicorn sends no body): load balancers probe with it, and a verifier
# may ask with it whether the key set changed.
READ_METHODS = ["GET", "HEAD"]


class DependencyOut(Schema):
    status: str
    latency_ms: float


class TaskQueueOut(Schema):
    # Seconds the oldest due task has waited for `manage.py db_worker`; null when none waits.
    oldest_unsent_age_s: float | None
    # The same, per queue ("default": emails, "webhooks": deliveries): each has its own worker to watch.
    queues: dict[str, float | None]


class ReadinessOut(Schema):
    status: str
    database: DependencyOut
    cache: DependencyOut
    tasks: TaskQueueOut


class LivenessOut(Schema):
    status: str


@router.api_operation(READ_METHODS, "/ready", response={200: ReadinessOut, **problem_responses(503)})
def readiness(request: HttpRequest) -> dict[str, object]:
    """Readiness: each dependency with its status and latency; 503 (with every report) when one is down."""
    return readiness_check()


@router.api_operation(READ_METHODS, "", response={200: ReadinessOut, **problem_responses(503)})
def health(request: HttpRequest) -> dict[str, object]:
    """The same as /ready, at the address earlier deployments probe."""
    return readiness_check()


@router.api_operation(READ_METHODS, "/live", response=LivenessOut)
def liveness(request: HttpRequest) -> dict[str, str]:
    """Liveness: the process serves requests (touches nothing else, so a dependency outage never restarts it)."""
    return {"status": "ok"}
