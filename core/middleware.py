"""Keeps /api/ free of HTML error pages.

Ninja's handlers (core.problems) cover errors raised inside API views. Some responses are
made before a view runs: an unknown URL (Django's 404 page) or a known URL with the wrong
method (Ninja's bare 405). This turns any such non-JSON error under /api/ into a problem.
"""

from django.http import HttpRequest, HttpResponse

from core.problems import CONTENT_TYPE, status_problem

API_PREFIX = "/api/"


class ApiProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith((CONTENT_TYPE, "application/json"))
        ):
            problem = status_problem(response.status_code)
            if response.has_header("Allow"):
                problem["Allow"] = response["Allow"]
            return problem
        return response
