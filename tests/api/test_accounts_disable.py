"""A disabled or deleted user is signed out at once, whichever way it happens: every session
ends and its id goes to the denylist, so the access tokens stop working too."""

import pytest

from core.models import User
from tests.api.test_token_api import assert_invalid_token
from tests.conftest import bearer
from tokens.models import Session, SessionEndReason
from tokens.services import session_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_pairs(user):
    return [session_start(user=user) for _ in range(2)]


def assert_signed_out(client, pairs, *, deleted: bool = False) -> None:
    for pair in pairs:
        assert_invalid_token(client.get("/auth/whoami", headers=bearer(pair.access)), "token_revoked")
        assert_invalid_token(client.post("/auth/token/verify", json={"token": pair.access}), "token_revoked")
        # A deleted user's refresh tokens are deleted with their sessions: unknown, not revoked.
        refresh = client.post("/auth/token/refresh", json={"refresh": pair.refresh})
        assert_invalid_token(refresh, "token_invalid" if deleted else "token_revoked")


def test_deactivating_in_the_admin_form_signs_the_user_out(client, admin_client, user, two_pairs):
    response = admin_client.post(
        f"/admin/core/user/{user.pk}/change/",
        {
            "email": user.email,
            "display_name": user.display_name,
            "avatar_url": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "is_active": "",
            # The identities inline's management form: no rows.
            "social_accounts-TOTAL_FORMS": "0",
            "social_accounts-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert_signed_out(client, two_pairs)
    assert set(Session.objects.values_list("end_reason", flat=True)) == {SessionEndReason.USER_DISABLED}


def test_deleting_with_the_admin_action_signs_the_user_out(client, admin_client, user, two_pairs):
    response = admin_client.post(
        "/admin/core/user/", {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert_signed_out(client, two_pairs, deleted=True)


def test_deactivating_in_the_shell_signs_the_user_out(client, user, two_pairs):
    user.is_active = False
    user.save()

    assert_signed_out(client, two_pairs)


def test_a_bulk_update_in_the_shell_signs_the_users_out(client, user, two_pairs):
    other = User.objects.create_user(email="grace@example.com")
    others = [session_start(user=other)]

    assert User.objects.filter(pk__in=[user.pk, other.pk]).update(is_active=False) == 2

    assert_signed_out(client, [*two_pairs, *others])


def test_deleting_in_the_shell_signs_the_user_out(client, user, two_pairs):
    user.delete()

    assert_signed_out(client, two_pairs, deleted=True)


def test_saving_an_active_user_ends_nothing(client, user, two_pairs):
    user.display_name = "Ada L."
    user.save()

    assert all(client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200 for pair in two_pairs)
