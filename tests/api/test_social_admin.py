"""The Django admin shows each user's social accounts."""

import pytest
from django.utils import timezone

from core.models import User
from social.models import SocialAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(django_client):
    django_client.force_login(User.objects.create_superuser("root@example.com", "a-long-password-1"))
    return django_client


@pytest.fixture
def kakao_account(user) -> SocialAccount:
    now = timezone.now()
    return SocialAccount.objects.create(
        user=user,
        provider="kakao",
        subject="1234567890",
        email="ada@kakao.example",
        email_verified=True,
        profile={"id": 1234567890},
        first_login_at=now,
        last_login_at=now,
    )


def test_user_page_lists_the_social_accounts(admin_client, kakao_account):
    response = admin_client.get(f"/admin/core/user/{kakao_account.user_id}/change/")

    assert response.status_code == 200
    assert b"1234567890" in response.content
    assert b"ada@kakao.example" in response.content


def test_social_accounts_have_their_own_list_and_page(admin_client, kakao_account):
    listing = admin_client.get("/admin/social/socialaccount/?q=1234567890")
    page = admin_client.get(f"/admin/social/socialaccount/{kakao_account.pk}/change/")

    assert listing.status_code == 200
    assert b"1234567890" in listing.content
    assert page.status_code == 200
    assert b"ada@kakao.example" in page.content
