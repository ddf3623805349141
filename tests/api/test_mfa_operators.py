"""Operators: the admin resets a user's factors (their sessions end); factor changes are events without codes."""

import json
import logging

import pytest
from django.urls import reverse

from core.models import User
from mfa.models import MfaChallenge, RecoveryCode, TotpDevice
from tests.api.test_accounts_api import sign_in, signed_up
from tests.conftest import bearer
from tests.mfa_helpers import enrol, mfa_token_of
from tokens.models import Session, SessionEndReason

pytestmark = pytest.mark.django_db


def test_the_admin_resets_a_users_factors_and_ends_their_sessions(client, django_client, caplog):
    access = signed_up(client)["access"]
    secret, codes = enrol(client, access)
    mfa_token_of(sign_in(client))
    admin = User.objects.create_superuser(email="root@example.com", password="root password long enough")
    django_client.force_login(admin)

    with caplog.at_level(logging.INFO, logger="auth.events"):
        response = django_client.post(
            reverse("admin:mfa_totpdevice_changelist"),
            {"action": "reset_factors", "_selected_action": [TotpDevice.objects.get().pk]},
        )
    assert response.status_code == 302
    assert not TotpDevice.objects.exists()
    assert not RecoveryCode.objects.exists()
    assert not MfaChallenge.objects.exists()
    assert set(Session.objects.values_list("end_reason", flat=True)) == {SessionEndReason.MFA_RESET}
    assert client.get("/users/me", headers=bearer(access)).status_code == 401
    assert sign_in(client).status_code == 200  # no second step any more
    events = [json.loads(record.getMessage()) for record in caplog.records if record.name == "auth.events"]
    assert {
        "event": "mfa_reset",
        "outcome": "success",
        "user_id": User.objects.get(email="grace@example.com").pk,
    }.items() <= next(event for event in events if event["event"] == "mfa_reset").items()
    assert not any(secret in record.getMessage() or codes[0] in record.getMessage() for record in caplog.records)
