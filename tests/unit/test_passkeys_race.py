"""Concurrent answers to one WebAuthn challenge, and concurrent assertions with one counter value:
the database lets exactly one through, whichever worker each runs on."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from core.errors import Problem
from core.models import User
from passkeys import services
from tests.passkeys_helpers import authenticator, webauthn_on  # noqa: F401  (the fixture)
from tokens.services import access_token_authenticate, session_start

THREADS = 6

pytestmark = [
    pytest.mark.concurrent_db,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("webauthn_on"),
]


def all_at_once(attempt) -> list[object]:
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> object:
        try:
            barrier.wait()
            return attempt(index)
        except Problem as problem:
            return problem.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def passkey_of(user: User):
    device = authenticator()
    principal = access_token_authenticate(token=session_start(user=user).access)
    challenge_id, options = services.registration_options(user=user, principal=principal, passkey=True)
    services.registration_verify(
        user=user, principal=principal, challenge_id=challenge_id, credential=device.create(options), name="Key"
    )
    return device


@pytest.mark.parametrize("trial", range(5))
def test_one_challenge_answers_once_however_many_race_for_it(trial):
    device = passkey_of(User.objects.create_user(email=f"race{trial}@example.com"))
    challenge_id, options = services.assertion_options(user=None)
    credential = device.get(options)

    outcomes = all_at_once(
        lambda _: services.assertion_verify(challenge_id=challenge_id, credential=credential, user=None)
    )

    assert sum(isinstance(outcome, services.VerifiedAssertion) for outcome in outcomes) == 1, outcomes
    assert outcomes.count("webauthn_challenge_invalid") == THREADS - 1


@pytest.mark.parametrize("trial", range(5))
def test_of_assertions_with_one_counter_value_one_passes(trial):
    """Two copies of one key (a clone) answer fresh challenges with the same counter at once."""
    device = passkey_of(User.objects.create_user(email=f"race{trial}@example.com"))
    started = [services.assertion_options(user=None) for _ in range(THREADS)]
    credentials = [device.get(options, sign_count=7) for _, options in started]

    outcomes = all_at_once(
        lambda index: services.assertion_verify(
            challenge_id=started[index][0], credential=credentials[index], user=None
        )
    )

    assert sum(isinstance(outcome, services.VerifiedAssertion) for outcome in outcomes) == 1, outcomes
    assert outcomes.count("webauthn_counter_regression") == THREADS - 1
