"""Schemathesis against the generated OpenAPI document, in process, through Django's WSGI app.

Every operation is called with generated valid and invalid input, anonymously and with a
real access token: no answer may be a 5xx, fall outside its declared status codes, content
types and schemas, or lack a problem body. The run is bounded and derandomized, so CI runs
the same examples every time; raise FUZZ_MAX_EXAMPLES for a deeper local search.
"""

import os
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, reject, settings
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation

from config.api import api
from core.models import User
from tests.conftest import bearer
from tokens.services import session_start

# Random examples per operation and test, on top of schemathesis' coverage cases (boundary values, each
# required part missing, wrong types), which run in full whatever this says (Phase.explicit). 10 rather
# than 20 takes a third off this file's CPU time, the largest in the suite; every operation is still called both ways.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
# The OpenAPI document is generated from the code, so the fuzzer checks the code against itself.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
# Every request, the checks' own follow-ups included, goes through the whole Django stack.
schema.app = get_wsgi_application()
# A body over DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE is refused (413) before its schema is looked at.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]

# Not asked: that every schema-valid request is accepted. The API keeps rules a document cannot
# state (password strength, an email's syntax beyond its length, refresh's token from the body or
# the cookie by JWT_REFRESH_TRANSPORT) and answers them with a declared 4xx problem.
EXCLUDED_CHECKS = [checks.positive_data_acceptance]


fuzz_settings = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def configured(settings, social, rsps, db):
    # No throttling, so that every example reaches the endpoint's own code.
    settings.API_THROTTLE_RATES = dict.fromkeys(settings.API_THROTTLE_RATES, "")
    # As Django's test client does: the end of a request would close the database connection
    # that holds the test's transaction (PostgreSQL; SQLite's in-memory one survives it).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@fuzz_settings
def test_anonymous_requests_get_declared_answers(case, configured):
    case.call_and_validate(base_url="https://localhost", excluded_checks=EXCLUDED_CHECKS)


@schema.parametrize()
@fuzz_settings
def test_signed_in_requests_get_declared_answers(case, configured):
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        # Its invalid headers are a missing or broken Authorization, which this test replaces with a valid
        # one: the example no longer says what it meant to (the anonymous test sends it as generated).
        reject()
    # A user of its own per example: an example may delete its account (DELETE /users/me).
    user = User.objects.create_user(email=f"{uuid.uuid4().hex}@example.com", display_name="Fuzz")
    access = session_start(user=user, user_agent="schemathesis", ip="127.0.0.1").access
    case.call_and_validate(base_url="https://localhost", headers=bearer(access), excluded_checks=EXCLUDED_CHECKS)
