"""Email and password accounts as a person sees them, in a real browser (docs/accounts.md)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://\S+#uid=\S+")


@pytest.fixture(autouse=True)
def _links_to_the_live_server(settings, dev_stack):
    settings.ACCOUNTS_VERIFY_EMAIL_URL = f"{dev_stack.url}/auth/verify-email#uid={{uid}}&token={{token}}"
    settings.ACCOUNTS_RESET_PASSWORD_URL = f"{dev_stack.url}/auth/reset-password#uid={{uid}}&token={{token}}"


def emailed_link(address: str) -> str:
    """The link of the newest email to the address that has one (security notices have none)."""
    with_links = [message for message in mail.outbox if address in message.to and LINK.search(message.body)]
    (link,) = LINK.findall(with_links[-1].body)
    return link


def password_user(email: str = "grace@example.com") -> User:
    return User.objects.create_user(email=email, password=STRONG_PASSWORD, display_name="Grace", email_verified=True)


def sign_in_with_password(page: Page, email: str, password: str = STRONG_PASSWORD) -> None:
    form = page.locator("#sign-in-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in with email").click()


def test_sign_up_open_the_emailed_link_and_be_signed_in(page, screenshot):
    page.goto("/")
    form = page.locator("#sign-up-form")
    form.get_by_label("Name").fill("Grace Hopper")
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Password").fill(STRONG_PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(page.locator("#notice")).to_contain_text("Check the inbox")
    screenshot(page, "sign-up")

    page.goto(emailed_link("grace@example.com"))
    # The link alone signs no one in: the page asks for the password chosen at sign-up.
    page.locator("#verify-form").get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-name")).to_have_text("Grace Hopper")
    expect(page.locator("#user-email")).to_have_text("grace@example.com")
    # The one-time token left the address bar at once.
    assert "#" not in page.url
    expect(page.locator("#password-state")).to_have_text("A password is set.")


def open_the_reset_link(page) -> None:
    """Grace asks for a reset on the page and opens the emailed link."""
    password_user()
    page.goto("/")
    page.locator("#sign-in-form").get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Forgot password").click()
    expect(page.locator("#notice")).to_contain_text("reset its password")
    page.goto(emailed_link("grace@example.com"))


def test_reset_the_password_from_the_emailed_link(page):
    open_the_reset_link(page)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill("a brand new passphrase")
    page.get_by_role("button", name="Set password").click()

    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("grace@example.com")
    page.get_by_role("button", name="Log out", exact=True).click()
    sign_in_with_password(page, "grace@example.com", "a brand new passphrase")
    expect(page.locator("#signed-in")).to_be_visible()


def test_link_dev_to_a_password_account_and_unlink_it(page, screenshot):
    password_user()
    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#identities tr")).to_have_count(0)

    page.get_by_role("button", name="Link Dev").click()
    expect(page.get_by_role("heading", name="Who are you?")).to_be_visible()
    page.get_by_label("Email", exact=True).fill("grace.hopper@dev.example")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("grace@example.com")  # The same user, now with Dev.
    expect(page.locator("#identities tr[data-provider='dev']")).to_have_count(1)
    screenshot(page, "identities", full_page=True)

    page.locator("#identities tr[data-provider='dev']").get_by_role("button", name="Unlink").click()

    expect(page.locator("#identities tr")).to_have_count(0)
    expect(page.locator("#notice")).to_have_text("dev unlinked.")
    expect(page.get_by_role("button", name="Link Dev")).to_be_visible()


def test_under_make_run_the_page_shows_the_emailed_link(page, settings):
    """DEBUG and the console email backend, as `make run` has them: the link is on the page."""
    settings.EMAIL_BACKEND = "accounts.mail.DevMailboxBackend"
    page.goto("/")
    form = page.locator("#sign-up-form")
    form.get_by_label("Email").fill("ada@example.com")
    form.get_by_label("Password").fill(STRONG_PASSWORD)
    form.get_by_role("button", name="Sign up").click()

    page.locator("#dev-mailbox").get_by_role("link", name=re.compile("Confirm your email address")).click()
    page.locator("#verify-form").get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("ada@example.com")


WEAK_PASSWORD = "12345"
WHAT_IT_LACKS = {
    "en": [
        "This password is too short. It must contain at least 8 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ],
    "ko": [
        "이 비밀번호는 너무 짧습니다. 최소 8자 이상이어야 합니다.",
        "너무 흔히 사용되는 비밀번호입니다.",
        "비밀번호가 전부 숫자로 되어 있습니다.",
    ],
}


def expect_what_the_password_lacks(page: Page, field, language: str = "en") -> None:
    """The validators' messages listed under the problem, and the field marked invalid and described by them."""
    expect(page.locator("#problem-code")).to_have_text("password_invalid")
    expect(page.locator("#problem-errors li")).to_have_text(WHAT_IT_LACKS[language])
    # The API's detail only points API clients at `errors`: the list says it better.
    expect(page.locator("#problem-detail")).to_be_hidden()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(" ".join(WHAT_IT_LACKS[language]))


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_weak_password_at_sign_up_says_what_it_lacks(page, language):
    page.goto("/")
    if language == "ko":
        page.get_by_role("button", name="한국어").click()
        expect(page.locator("html")).to_have_attribute("lang", "ko")
    form = page.locator("#sign-up-form")
    form.locator("input[name=email]").fill("grace@example.com")
    password = form.locator("input[name=password]")
    password.fill(WEAK_PASSWORD)
    form.locator("button[type=submit]").click()
    expect_what_the_password_lacks(page, password, language)

    password.fill(STRONG_PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("#problem")).to_be_hidden()
    expect(password).not_to_have_attribute("aria-invalid", "true")
    expect(password).not_to_have_attribute("aria-describedby", "problem-errors")


def test_a_mistake_on_the_reset_page_keeps_its_form_for_another_try(page):
    open_the_reset_link(page)
    field = page.get_by_label("New password")
    field.fill(WEAK_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect_what_the_password_lacks(page, field)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()

    field.fill("a brand new passphrase")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Password set. Every other session has been signed out.")


def test_a_wrong_password_on_the_verify_page_keeps_its_form_for_another_try(page):
    User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, display_name="Grace")
    page.goto("/")
    page.locator("#sign-in-form").get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Resend verification").click()
    expect(page.locator("#notice")).to_be_visible()

    page.goto(emailed_link("grace@example.com"))
    page.locator("#verify-form").get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#problem-code")).to_have_text("password_incorrect")
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()

    page.locator("#verify-form").get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Email address confirmed: you are signed in.")


def test_a_dead_link_leads_to_the_sign_in_page(page):
    password_user()
    page.goto("/auth/verify-email#uid=MQ&token=made-up")
    page.locator("#verify-form").get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#problem-code")).to_have_text("link_invalid")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def test_the_focus_stays_on_the_page_after_signing_in_and_out_ending_a_session_and_a_notice_choice(new_page):
    """Each action whose control goes away (or is drawn again) puts the focus somewhere a person can go on from."""
    password_user()
    elsewhere = new_page()
    elsewhere.goto("/")
    sign_in_with_password(elsewhere, "grace@example.com")
    expect(elsewhere.locator("#signed-in")).to_be_visible()
    page = new_page()
    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    expect(page.get_by_role("heading", name="Grace")).to_be_focused()

    choice = page.get_by_role("checkbox", name="A sign-in from a new device")
    choice.click()
    expect(page.locator("#notice")).to_have_text("Security email choices saved.")
    expect(choice).not_to_be_checked()
    expect(choice).to_be_focused()

    page.locator("#sessions tr:not(:has(.tag))").get_by_role("button", name="End").click()
    expect(page.locator("#notice")).to_have_text("Session ended.")
    expect(page.locator("#sessions tr")).to_have_count(1)
    expect(page.get_by_role("table", name="Sessions")).to_be_focused()

    sign_in_heading = page.get_by_role("heading", name="Sign in", exact=True)
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(sign_in_heading).to_be_focused()
    sign_in_with_password(page, "grace@example.com")
    page.get_by_role("button", name="Log out everywhere").click()
    expect(sign_in_heading).to_be_focused()


def test_a_wrong_password_on_the_korean_verify_page_is_said_in_korean(page):
    User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, display_name="Grace")
    page.goto("/")
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.locator("#sign-in-form input[name=email]").fill("grace@example.com")
    page.locator("#resend-verification").click()
    expect(page.locator("#notice")).to_be_visible()

    page.goto(emailed_link("grace@example.com"))
    page.locator("#verify-form input[name=password]").fill("not the password")
    page.locator("#verify-form button[type=submit]").click()
    expect(page.locator("#problem-code")).to_have_text("password_incorrect")
    expect(page.locator("#problem-title")).to_have_text("현재 비밀번호가 틀렸습니다")
    expect(page.locator("#problem-detail")).to_have_text("이 계정의 비밀번호가 아닙니다.")
