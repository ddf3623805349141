"""Emailed codes under concurrent tries: one sign-in per code, never more than five tries counted."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from accounts import codes
from accounts.models import EmailCode

pytestmark = [pytest.mark.concurrent_db, pytest.mark.django_db(transaction=True)]

THREADS = 8
ADDRESS = "grace@example.com"


def redeem_all_at_once(guesses: list[str]) -> list[bool]:
    barrier = threading.Barrier(len(guesses))

    def attempt(guess: str) -> bool:
        try:
            barrier.wait()
            return codes.code_redeem(ADDRESS, guess)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(guesses)) as pool:
        return list(pool.map(attempt, guesses))


@pytest.mark.parametrize("trial", range(5))
def test_the_right_code_sent_at_once_signs_in_once(trial):
    code = codes.code_issue(ADDRESS)
    assert redeem_all_at_once([code] * THREADS).count(True) == 1
    assert not EmailCode.objects.exists()


@pytest.mark.parametrize("trial", range(5))
def test_concurrent_wrong_tries_count_exactly_and_stop_at_five(trial):
    code = codes.code_issue(ADDRESS)
    wrong = ("A" if code[0] != "A" else "B") + code[1:]
    assert not any(redeem_all_at_once([wrong] * THREADS))
    assert EmailCode.objects.get().tries == codes.CODE_MAX_TRIES
    assert not codes.code_redeem(ADDRESS, code)
