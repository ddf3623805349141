"""Identities: canonical emails when linking, the pre-account-takeover rule, linking while
signed in, listing and unlinking. Providers mocked with `responses` (tests/social_mocks.py)."""

import pytest
from django.core import mail

from core.models import User
from social.models import SocialAccount
from tests import social_mocks as mocks
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to
from tests.api.test_accounts_api import register, sign_in, signed_up
from tests.api.test_token_api import assert_invalid_token, assert_problem
from tests.conftest import bearer
from tokens.models import Session, SessionEndReason
from tokens.services import session_start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("social")]


def google_login(client, rsps, email: str = "ada@gmail.example", **claims):
    """A Google sign-in of a Workspace account (`hd`): Google's addresses that link to existing users."""
    return mocks.login_oidc(client, rsps, mocks.GOOGLE, "google", email=email, hd=email.rpartition("@")[2], **claims)


def link_google(client, rsps, access: str, **claims):
    """Links a Google identity to the bearer's user, as the page does: /authorize with intent link, then /callback."""
    mocks.GOOGLE.mock_metadata(rsps)
    response = client.post(
        "/auth/social/google/authorize",
        json={"redirect_uri": mocks.REDIRECT_URI, "intent": "link"},
        headers=bearer(access),
    )
    assert response.status_code == 200, response.json()
    params = mocks.query_of(response.json()["authorization_url"])
    id_token = mocks.GOOGLE.id_token(mocks.GOOGLE.claims(nonce=params["nonce"], **claims))
    rsps.post(mocks.GOOGLE.token_endpoint, json=mocks.GOOGLE.token(id_token))
    return mocks.callback(client, "google", state=params["state"])


# --- one canonical email --------------------------------------------------------------------


@pytest.mark.parametrize("lookalike", ["adm\u0131n@github.com", "ADM\u0130N@github.com"])
def test_a_lookalike_verified_email_neither_links_nor_fails(client, rsps, lookalike):
    """Dotless i and dotted capital I: each database folds them its own way; exact equality of
    canonical forms folds them none, and their non-ASCII local part keeps them off the user."""
    admin = User.objects.create_user(email="admin@github.com", email_verified=True)

    response = google_login(client, rsps, email=lookalike)

    assert response.status_code == 200, response.json()
    assert response.json()["user"]["id"] != admin.pk
    assert response.json()["user"]["email"] is None
    assert SocialAccount.objects.get().email == lookalike  # What the provider said, kept on the identity.


def test_a_verified_email_in_another_case_links_to_the_same_user(client, rsps):
    admin = User.objects.create_user(email="admin@github.com", email_verified=True)

    response = google_login(client, rsps, email="Admin@GitHub.COM")

    assert response.json()["user"]["id"] == admin.pk


def test_an_internationalised_domain_is_stored_in_its_idna_form(client, rsps):
    response = google_login(client, rsps, email="ada@B\u00fccher.example")

    assert response.json()["user"]["email"] == "ada@xn--bcher-kva.example"


def test_sign_up_and_linking_agree_on_the_address(client, rsps):
    signed_up(client, "Grace@Example.com")

    response = google_login(client, rsps, email="grace@EXAMPLE.com")

    assert response.json()["user"]["email"] == "grace@example.com"
    assert User.objects.count() == 1


def test_the_database_refuses_an_email_that_is_not_canonical(db):
    from django.db import IntegrityError, transaction

    user = User.objects.create_user(email="ada@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(email="Ada@example.com")


def test_the_admin_form_canonicalises_and_reports_a_taken_address(admin_client):
    User.objects.create_user(email="ada@example.com")

    response = admin_client.post(
        "/admin/core/user/add/",
        {"email": "ADA@Example.com", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
    )

    assert response.status_code == 200
    assert "User with this Email already exists." in response.content.decode()
    assert User.objects.filter(email="ada@example.com").count() == 1


# --- the pre-account-takeover hole ----------------------------------------------------------


def test_pre_account_takeover_is_refused(client, rsps):
    """An attacker signs up with the victim's address and a password; the victim later signs in
    with Google. The victim gets the account, the attacker's password and sessions are gone."""
    register(client, "victim@gmail.example", password="the attacker's passphrase", display_name="Attacker")

    victim = google_login(client, rsps, email="victim@gmail.example")

    assert victim.status_code == 200
    user = User.objects.get()
    assert victim.json()["user"]["id"] == user.pk
    assert not user.has_usable_password()
    assert user.email_verified
    assert user.display_name == "Ada Lovelace"  # The provider's, not the attacker's.
    assert_problem(sign_in(client, "victim@gmail.example", "the attacker's passphrase"), 401, "credentials_invalid")
    # The link the attacker's sign-up emailed (to the victim) no longer verifies anything.
    assert_problem(
        client.post("/auth/email/verify", json={**last_link_to("victim@gmail.example"), "password": STRONG_PASSWORD}),
        400,
        "link_invalid",
    )


def test_pre_account_takeover_ends_the_sessions_of_the_unverified_account(client, rsps):
    register(client, "victim@gmail.example", password="the attacker's passphrase")
    attacker = session_start(user=User.objects.get())  # However it got one, it loses it.

    google_login(client, rsps, email="victim@gmail.example")

    assert_invalid_token(client.get("/auth/whoami", headers=bearer(attacker.access)), "token_revoked")
    assert Session.objects.filter(end_reason=SessionEndReason.EMAIL_CLAIMED).count() == 1


def test_an_unverified_provider_email_never_claims_an_account(client, rsps):
    register(client, "victim@gmail.example", password="the attacker's passphrase")

    response = google_login(client, rsps, "victim@gmail.example", email_verified=False)

    assert response.json()["user"]["id"] != User.objects.get(email="victim@gmail.example").pk
    assert User.objects.get(email="victim@gmail.example").check_password("the attacker's passphrase")


# --- linking while signed in ------------------------------------------------------------------


def test_link_attaches_the_identity_to_the_signed_in_user(client, rsps):
    pair = signed_up(client)

    response = link_google(client, rsps, pair["access"], email="someone-else@gmail.example")

    assert response.status_code == 200, response.json()
    user = User.objects.get(email="grace@example.com")
    assert response.json()["user"]["id"] == user.pk
    assert SocialAccount.objects.get().user == user
    assert not response.json()["created"]


def test_link_then_sign_in_either_way_lands_in_the_same_user(client, rsps):
    pair = signed_up(client)
    link_google(client, rsps, pair["access"], email="someone-else@gmail.example")

    by_password = sign_in(client).json()
    by_google = google_login(client, rsps, email="someone-else@gmail.example").json()

    me_password = client.get("/users/me", headers=bearer(by_password["access"])).json()
    me_google = client.get("/users/me", headers=bearer(by_google["access"])).json()
    # The same user, signed in two ways (docs/mfa.md).
    assert (me_password.pop("amr"), me_google.pop("amr")) == (["pwd"], ["fed"])
    me_password.pop("auth_time"), me_google.pop("auth_time")
    assert me_password == me_google
    assert User.objects.count() == 1


def test_linking_an_identity_of_another_user_is_identity_in_use(client, rsps):
    owner = google_login(client, rsps).json()
    pair = signed_up(client)

    response = link_google(client, rsps, pair["access"])

    assert_problem(response, 409, "identity_in_use")
    assert SocialAccount.objects.get().user_id == owner["user"]["id"]


def test_link_intent_needs_a_bearer_token(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)
    response = client.post("/auth/social/google/authorize", json={"redirect_uri": mocks.REDIRECT_URI, "intent": "link"})

    assert_problem(response, 401, "not_authenticated")


def test_link_intent_with_a_revoked_token_is_refused(client, rsps):
    pair = signed_up(client)
    client.post("/auth/logout", headers=bearer(pair["access"]))
    mocks.GOOGLE.mock_metadata(rsps)

    response = client.post(
        "/auth/social/google/authorize",
        json={"redirect_uri": mocks.REDIRECT_URI, "intent": "link"},
        headers=bearer(pair["access"]),
    )

    assert_invalid_token(response, "token_revoked")


# --- listing and unlinking ---------------------------------------------------------------------


def test_identities_lists_the_linked_providers_and_whether_a_password_is_set(client, rsps):
    pair = signed_up(client)
    link_google(client, rsps, pair["access"], email="someone-else@gmail.example")

    response = client.get("/users/me/identities", headers=bearer(pair["access"]))

    assert response.status_code == 200
    body = response.json()
    assert body["has_password"] is True
    (identity,) = body["identities"]
    assert (identity["provider"], identity["email"], identity["email_verified"]) == (
        "google",
        "someone-else@gmail.example",
        True,
    )


def test_unlink_an_identity_when_a_password_is_left(client, rsps):
    pair = signed_up(client)
    link_google(client, rsps, pair["access"], email="someone-else@gmail.example")
    identity_id = SocialAccount.objects.get().pk

    response = client.delete(f"/users/me/identities/{identity_id}", headers=bearer(pair["access"]))

    assert response.status_code == 204
    assert not SocialAccount.objects.exists()
    # Signing in with Google again makes a new user: the link is gone.
    again = google_login(client, rsps, email="someone-else@gmail.example").json()
    assert again["created"]


def test_unlinking_the_only_way_in_is_last_sign_in_method(client, rsps):
    login = google_login(client, rsps).json()
    identity_id = SocialAccount.objects.get().pk

    response = client.delete(f"/users/me/identities/{identity_id}", headers=bearer(login["access"]))

    assert_problem(response, 409, "last_sign_in_method")
    assert SocialAccount.objects.exists()


def test_a_password_is_no_way_in_when_password_login_is_off(client, rsps, settings):
    pair = signed_up(client)
    link_google(client, rsps, pair["access"], email="someone-else@gmail.example")
    settings.AUTH_PASSWORD_LOGIN = False

    response = client.delete(f"/users/me/identities/{SocialAccount.objects.get().pk}", headers=bearer(pair["access"]))

    assert_problem(response, 409, "last_sign_in_method")


def test_unlinking_someone_elses_identity_is_not_found(client, rsps):
    google_login(client, rsps)
    pair = signed_up(client)

    response = client.delete(f"/users/me/identities/{SocialAccount.objects.get().pk}", headers=bearer(pair["access"]))

    assert_problem(response, 404, "identity_not_found")


def test_identities_need_a_bearer_token(client):
    assert_problem(client.get("/users/me/identities"), 401, "not_authenticated")
    assert_problem(client.delete("/users/me/identities/1"), 401, "not_authenticated")


def test_linking_sends_one_notice_and_no_link(client, rsps):
    pair = signed_up(client)
    mail.outbox.clear()
    link_google(client, rsps, pair["access"])
    (notice,) = mail.outbox
    assert notice.subject == "A sign-in method was linked to your account"
    assert "google" in notice.body
    assert "http" not in notice.body
