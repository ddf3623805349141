"""social.services.social_account_upsert: who a provider identity signs in as."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from core.models import User
from social import services
from social.errors import StateInvalid
from social.models import SocialAccount
from social.providers.base import Identity
from social.services import accounts as account_upsert
from tests import social_mocks as mocks

pytestmark = pytest.mark.usefixtures("social")


def identity(
    subject: str = "sub-1",
    *,
    email: str | None = "ada@example.com",
    email_verified: bool = True,
    display_name: str = "Ada",
    avatar_url: str = "https://img.example/ada.png",
    trusted: bool = True,
    authoritative: bool = True,
) -> Identity:
    """From a provider trusted for email (Google, Apple, Kakao) unless `trusted=False`."""
    return Identity(
        subject=subject,
        email=email,
        email_verified=email_verified,
        display_name=display_name,
        avatar_url=avatar_url,
        profile={"sub": subject, "email": email},
        email_trusted=trusted and email_verified and email is not None,
        email_authoritative=authoritative,
    )


def upsert(who: Identity, provider: str = "google"):
    return services.social_account_upsert(provider=provider, identity=who)


@pytest.mark.django_db
class TestUpsert:
    def test_new_identity_creates_a_user_with_its_verified_email_and_profile(self):
        account, created = upsert(identity())

        assert created is True
        user = account.user
        assert (user.email, user.display_name) == ("ada@example.com", "Ada")
        assert user.avatar_url == "https://img.example/ada.png"
        assert user.last_login is not None
        assert not user.has_usable_password()
        assert (account.provider, account.subject, account.email, account.email_verified) == (
            "google",
            "sub-1",
            "ada@example.com",
            True,
        )
        assert account.first_login_at == account.last_login_at

    def test_next_login_updates_the_account_and_keeps_the_user(self):
        first, _ = upsert(identity())

        with time_machine.travel(timezone.now() + timedelta(days=3)):
            again, created = upsert(identity(email="ada@new.example", display_name="Ada L."))

        assert created is False
        assert again.pk == first.pk
        assert again.user_id == first.user_id
        again.refresh_from_db()
        assert again.last_login_at - again.first_login_at >= timedelta(days=3)
        assert again.email == "ada@new.example"
        assert again.profile["email"] == "ada@new.example"
        # What the user has is theirs: the provider does not overwrite it.
        assert (again.user.email, again.user.display_name) == ("ada@example.com", "Ada")

    def test_verified_email_links_to_the_existing_user_case_insensitively(self, user):
        account, created = upsert(identity(email="ADA@Example.COM"))

        assert created is False
        assert account.user == user
        assert User.objects.count() == 1
        user.refresh_from_db()
        assert user.email == "ada@example.com"

    def test_two_providers_with_one_verified_email_are_one_user(self):
        google, _ = upsert(identity("g-1"), provider="google")
        kakao, created = upsert(identity("1234567890", email="ada@example.com"), provider="kakao")

        assert created is False
        assert kakao.user == google.user

    def test_linking_off_creates_another_user_without_the_taken_email(self, user, settings):
        settings.SOCIAL_LINK_BY_VERIFIED_EMAIL = False

        account, created = upsert(identity(email="ada@example.com"))

        assert created is True
        assert account.user != user
        assert account.user.email is None
        assert (account.email, account.email_verified) == ("ada@example.com", True)

    def test_unverified_email_never_links(self, user):
        account, created = upsert(identity(email="ada@example.com", email_verified=False))

        assert created is True
        assert account.user != user
        assert account.user.email is None
        assert (account.email, account.email_verified) == ("ada@example.com", False)

    def test_unverified_email_never_becomes_the_users_email(self):
        account, _ = upsert(identity(email="free@example.com", email_verified=False))

        assert account.user.email is None
        upsert(identity(email="free@example.com", email_verified=False))
        account.user.refresh_from_db()
        assert account.user.email is None

    def test_unverified_email_never_overwrites_a_verified_one(self):
        account, _ = upsert(identity(email="ada@example.com"))

        upsert(identity(email="mallory@example.com", email_verified=False))

        account.user.refresh_from_db()
        assert account.user.email == "ada@example.com"
        account.refresh_from_db()
        assert (account.email, account.email_verified) == ("mallory@example.com", False)

    def test_untrusted_providers_verified_email_never_links(self, user):
        """A provider where users may claim any address as verified must not open its owner's account."""
        account, created = upsert(identity(email="ada@example.com", trusted=False), provider="acme")

        assert created is True
        assert account.user != user
        assert account.user.email is None

    def test_untrusted_providers_email_never_becomes_the_users_email(self):
        account, _ = upsert(identity(email="free@example.com", trusted=False), provider="acme")

        assert account.user.email is None
        assert account.email == "free@example.com"

    @pytest.mark.parametrize("role", ["is_staff", "is_superuser"])
    def test_verified_email_never_links_to_staff_or_superusers(self, user, role):
        setattr(user, role, True)
        user.save()

        account, created = upsert(identity(email="ada@example.com"))

        assert created is True
        assert account.user != user
        assert account.user.email is None

    def test_non_authoritative_email_neither_links_nor_becomes_the_users(self, user):
        """Google's non-Gmail address without `hd`: verified once, not proof of today's owner (issue 25)."""
        linked, created = upsert(identity(email="ada@example.com", authoritative=False))
        assert (created, linked.user != user) == (True, True)

        fresh, _ = upsert(identity("sub-2", email="new@example.com", authoritative=False))
        assert (fresh.user.email, fresh.user.email_verified) == (None, False)
        # It stays on the identity, as the trusted provider said it.
        assert (fresh.email, fresh.email_verified) == ("new@example.com", True)

    def test_identity_without_email_creates_a_user_without_one(self):
        account, created = upsert(identity("1234567890", email=None, email_verified=False), provider="kakao")

        assert created is True
        assert account.user.email is None
        assert account.email == ""

    def test_user_without_email_gets_one_once_the_provider_verifies_it(self):
        account, _ = upsert(identity(email=None, email_verified=False))

        upsert(identity(email="ada@example.com"))

        account.user.refresh_from_db()
        assert account.user.email == "ada@example.com"

    def test_a_later_verified_email_that_another_user_has_stays_off(self, user):
        account, _ = upsert(identity("kakao-1", email=None, email_verified=False), provider="kakao")

        upsert(identity("kakao-1", email="ADA@example.com"), provider="kakao")

        account.user.refresh_from_db()
        assert account.user.email is None

    def test_empty_profile_fields_are_filled_in(self):
        account, _ = upsert(identity(display_name="", avatar_url=""))

        upsert(identity(display_name="Ada", avatar_url="https://img.example/ada.png"))

        account.user.refresh_from_db()
        assert (account.user.display_name, account.user.avatar_url) == ("Ada", "https://img.example/ada.png")

    def test_an_avatar_url_too_long_to_store_is_left_out(self):
        account, _ = upsert(identity(avatar_url="https://img.example/" + "a" * 1000))

        assert account.user.avatar_url == ""

    def test_a_first_login_losing_the_race_retries_as_an_update(self, monkeypatch):
        """Simulates the race on one connection: the lookup misses a row another login just made."""
        winner, _ = upsert(identity())
        find = account_upsert._social_account_find
        calls = []

        def miss_once(**kwargs):
            calls.append(kwargs)
            return None if len(calls) == 1 else find(**kwargs)

        monkeypatch.setattr(account_upsert, "_social_account_find", miss_once)

        account, created = upsert(identity())

        assert len(calls) == 2
        assert (account.pk, created) == (winner.pk, False)
        assert (User.objects.count(), SocialAccount.objects.count()) == (1, 1)


@pytest.mark.concurrent_db
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("email", ["ada@example.com", None], ids=["with-email", "without-email"])
def test_concurrent_first_logins_of_one_identity_make_one_account(monkeypatch, email):
    """Both logins look, find nothing, and only then insert: one wins, the other retries."""
    threads = 2
    barrier = threading.Barrier(threads, timeout=10)
    waited = threading.local()
    find = account_upsert._social_account_find

    def find_then_meet(**kwargs):
        found = find(**kwargs)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(account_upsert, "_social_account_find", find_then_meet)

    def login(_):
        try:
            return upsert(identity("1234567890", email=email, email_verified=email is not None), provider="kakao")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(login, range(threads)))

    assert SocialAccount.objects.count() == 1
    assert User.objects.count() == 1
    assert {account.pk for account, _ in outcomes} == {SocialAccount.objects.get().pk}
    assert sorted(created for _, created in outcomes) == [False, True]


@pytest.mark.django_db
def test_of_two_callbacks_racing_with_one_state_only_the_one_that_deletes_it_goes_on(monkeypatch, rsps):
    """The other callback read the pending login too, but lost the delete: it must stop there."""
    start = services.social_login_begin(provider="kakao", redirect_uri=mocks.REDIRECT_URI)
    real_get = cache.get

    def get_then_lose_the_race(key, *args, **kwargs):
        value = real_get(key, *args, **kwargs)
        cache.delete(key)  # the concurrent callback's delete lands first
        return value

    monkeypatch.setattr(cache, "get", get_then_lose_the_race)

    with pytest.raises(StateInvalid):
        services.social_login_complete(provider="kakao", code="c", state=start.state)
    assert len(rsps.calls) == 0
