"""The scheduled rotation (JWT_KEY_ROTATION_PERIOD): `rotate_signing_key --scheduled` and flush_expired_tokens."""

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from tokens.models import SigningKey

PERIOD = 90 * 24 * 3600
DELAY = 3600


def command(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def scheduled() -> dict:
    return json.loads(command("rotate_signing_key", "--scheduled"))


@pytest.fixture
def database_keys(settings, db):
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = ""
    settings.JWT_ALGORITHM = "ES256"
    return settings


def test_the_schedule_leaves_a_deployment_with_the_environments_key_alone(db):
    assert scheduled() == {"rotated": False}
    assert not SigningKey.objects.exists()


def test_a_key_is_published_ahead_so_that_it_signs_when_the_period_is_over(database_keys):
    first = json.loads(command("rotate_signing_key"))
    first_signs_from = datetime.fromisoformat(first["signs_from"])
    due = first_signs_from + timedelta(seconds=PERIOD - DELAY)
    with time_machine.travel(due - timedelta(seconds=1), tick=False):
        assert scheduled() == {"rotated": False}
    with time_machine.travel(due, tick=False):
        rotation = scheduled()
        assert rotation["rotated"] is True
        # It signs exactly one period after the previous key began, published an hour before.
        assert datetime.fromisoformat(rotation["signs_from"]) == first_signs_from + timedelta(seconds=PERIOD)
        assert rotation["retired"][0]["kid"] == first["kid"]
        assert scheduled() == {"rotated": False}  # run again (cron, another host): nothing more


def test_flush_expired_tokens_runs_the_schedule_and_period_zero_turns_it_off(database_keys):
    command("rotate_signing_key")
    later = datetime.now().astimezone() + timedelta(seconds=PERIOD)
    database_keys.JWT_KEY_ROTATION_PERIOD = 0
    with time_machine.travel(later, tick=False):
        assert "Rotated" not in command("flush_expired_tokens")
        assert SigningKey.objects.count() == 1
    database_keys.JWT_KEY_ROTATION_PERIOD = PERIOD
    with time_machine.travel(later, tick=False):
        assert "Rotated the signing key" in command("flush_expired_tokens")
        assert SigningKey.objects.count() == 2
