"""Racing second steps: one recovery code, or one mfa_token, admits exactly one sign-in."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from core.errors import Problem
from core.models import User
from mfa import services
from mfa.errors import MfaRequired
from mfa.models import RecoveryCode
from tests.mfa_helpers import code_now

THREADS = 8

pytestmark = [pytest.mark.concurrent_db, pytest.mark.django_db(transaction=True)]


def mfa_token(user: User) -> str:
    with pytest.raises(MfaRequired) as gated:
        services.sign_in(user=user, amr=["pwd"])
    return gated.value.extra["mfa_token"]


def all_at_once(calls: list) -> list[object]:
    barrier = threading.Barrier(len(calls))

    def attempt(call):
        try:
            barrier.wait()
            return call()
        except Problem as error:
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(attempt, calls))


@pytest.fixture
def enrolled() -> tuple[User, list[str]]:
    user = User.objects.create_user(email="ada@example.com")
    secret = services.totp_begin(user_id=user.pk, principal=None)["secret"]
    return user, services.totp_confirm(user_id=user.pk, principal=None, code=code_now(secret))


@pytest.mark.parametrize("trial", range(3))
def test_one_recovery_code_signs_in_once(enrolled, trial):
    user, codes = enrolled
    tokens = [mfa_token(user) for _ in range(THREADS)]
    outcomes = all_at_once(
        [
            lambda t=t: services.mfa_verify(mfa_token=t, method="recovery_code", code=codes[0], binding=None)
            for t in tokens
        ]
    )
    assert sum(not isinstance(outcome, Problem) for outcome in outcomes) == 1
    assert {outcome.code for outcome in outcomes if isinstance(outcome, Problem)} == {"mfa_code_invalid"}


@pytest.mark.parametrize("trial", range(3))
def test_one_mfa_token_signs_in_once(enrolled, trial):
    user, codes = enrolled
    token = mfa_token(user)
    outcomes = all_at_once(
        [
            lambda c=c: services.mfa_verify(mfa_token=token, method="recovery_code", code=c, binding=None)
            for c in codes[:THREADS]
        ]
    )
    assert sum(not isinstance(outcome, Problem) for outcome in outcomes) == 1
    assert {outcome.code for outcome in outcomes if isinstance(outcome, Problem)} == {"mfa_token_invalid"}


@pytest.mark.parametrize("trial", range(3))
def test_only_the_winning_verify_spends_its_recovery_code(enrolled, trial):
    user, codes = enrolled
    token = mfa_token(user)
    racing = codes[:4]
    outcomes = all_at_once(
        [lambda c=c: services.mfa_verify(mfa_token=token, method="recovery_code", code=c, binding=None) for c in racing]
    )
    assert sum(not isinstance(outcome, Problem) for outcome in outcomes) == 1
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1
    # The losers' codes still sign in.
    lost = [code for code, outcome in zip(racing, outcomes, strict=True) if isinstance(outcome, Problem)]
    for code in lost:
        services.mfa_verify(mfa_token=mfa_token(user), method="recovery_code", code=code, binding=None)
