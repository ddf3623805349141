"""Emailed codes, the email change and the security email choices as a person sees them (docs/accounts.md)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import EmailCode, NoticeSettings
from core.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CODE_LINK = re.compile(r"https?://\S+#email=\S+&code=(\w+)")
EMAIL_CHANGE_LINK = re.compile(r"https?://\S+/auth/email-change#uid=\S+")
CANCEL_LINK = re.compile(r"https?://\S+/auth/email-change-cancel#uid=\S+")


@pytest.fixture(autouse=True)
def _links_to_the_live_server(settings, dev_stack):
    settings.ACCOUNTS_EMAIL_CODE_URL = f"{dev_stack.url}/#email={{email}}&code={{code}}"
    settings.ACCOUNTS_EMAIL_CHANGE_URL = f"{dev_stack.url}/auth/email-change#uid={{uid}}&token={{token}}"
    settings.ACCOUNTS_EMAIL_CHANGE_CANCEL_URL = f"{dev_stack.url}/auth/email-change-cancel#uid={{uid}}&token={{token}}"


def newest_match(address: str, pattern: re.Pattern[str]) -> re.Match[str]:
    """The pattern's match in the newest email to the address that has one."""
    matches = [match for message in mail.outbox if address in message.to if (match := pattern.search(message.body))]
    return matches[-1]


def request_a_code(page: Page, email: str) -> None:
    page.goto("/")
    form = page.locator("#code-request-form")
    form.get_by_label("Email").fill(email)
    form.get_by_role("button", name="Email me a code").click()
    expect(page.locator("#notice")).to_contain_text(f"If {email} can sign in, a code is on its way")


def sign_in_with_dev(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Sign in with Dev").click()
    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#signed-in")).to_be_visible()


def test_email_me_a_code_and_type_it(page, screenshot):
    request_a_code(page, "grace@example.com")
    code = newest_match("grace@example.com", CODE_LINK).group(1)
    expect(page.get_by_label("Code", exact=True)).to_be_focused()
    screenshot(page, "code-requested")

    # Typed as a person might: lower case.
    page.get_by_label("Code", exact=True).fill(code.lower())
    page.get_by_role("button", name="Sign in with the code").click()

    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("grace@example.com")
    assert User.objects.get(email="grace@example.com").email_verified


def test_the_codes_emailed_link_signs_in_and_leaves_the_address_bar(page, new_page):
    request_a_code(page, "grace@example.com")
    link = newest_match("grace@example.com", CODE_LINK).group(0)

    # Opened from the mail, on another device: the form is filled in, and nothing is sent until the person
    # signs in (sent at once, any site could sign a browser into the link's account).
    other = new_page()
    other.goto(link)
    expect(other.get_by_label("Code", exact=True)).not_to_have_value("")
    expect(other.get_by_role("button", name="Sign in with the code")).to_be_focused()
    assert EmailCode.objects.filter(address="grace@example.com").exists()  # not spent
    other.get_by_role("button", name="Sign in with the code").click()

    expect(other.locator("#signed-in")).to_be_visible()
    expect(other.locator("#user-email")).to_have_text("grace@example.com")
    assert "#" not in other.url


def test_under_make_run_the_dev_mailboxs_code_link_signs_in_on_the_same_page(page, settings):
    """DEBUG and the console email backend, as `make run` has them: the link changes only the fragment."""
    settings.EMAIL_BACKEND = "accounts.mail.DevMailboxBackend"
    request_a_code(page, "grace@example.com")

    page.locator("#dev-mailbox").get_by_role("link", name=re.compile("Your sign-in code")).click()
    page.get_by_role("button", name="Sign in with the code").click()

    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("grace@example.com")
    assert "#" not in page.url


def test_a_wrong_code_is_a_problem_on_the_page(page):
    request_a_code(page, "grace@example.com")
    page.get_by_label("Code", exact=True).fill("AAAAAA")
    page.get_by_role("button", name="Sign in with the code").click()

    expect(page.locator("#problem-code")).to_have_text("email_code_invalid")
    expect(page.locator("#signed-out")).to_be_visible()


def test_change_the_email_and_confirm_it_through_the_link(page, screenshot):
    sign_in_with_dev(page)
    page.get_by_label("New email").fill("ada.new@example.com")
    page.get_by_role("button", name="Change email").click()
    expect(page.locator("#notice")).to_have_text(
        "Open the link emailed to ada.new@example.com to make it your address."
    )

    page.goto(newest_match("ada.new@example.com", EMAIL_CHANGE_LINK).group(0))
    assert "#" not in page.url
    expect(page.get_by_role("heading", name="Confirm your new email address")).to_be_visible()
    screenshot(page, "email-change")
    page.get_by_role("button", name="Use this address").click()

    # The same browser still holds the session (the refresh cookie): it shows the new address.
    expect(page.locator("#notice")).to_have_text("Email address changed.")
    expect(page.locator("#user-email")).to_have_text("ada.new@example.com")
    assert User.objects.filter(email="ada.new@example.com", email_verified=True).exists()


def test_this_wasnt_me_puts_the_address_back_and_signs_out_everywhere(page, new_page):
    sign_in_with_dev(page)
    page.get_by_label("New email").fill("mallory@example.com")
    page.get_by_role("button", name="Change email").click()
    expect(page.locator("#notice")).to_contain_text("mallory@example.com")
    page.goto(newest_match("mallory@example.com", EMAIL_CHANGE_LINK).group(0))
    page.get_by_role("button", name="Use this address").click()
    expect(page.locator("#user-email")).to_have_text("mallory@example.com")

    # The owner, in another browser, follows the link the old address got.
    owner = new_page()
    owner.goto(newest_match("ada@example.com", CANCEL_LINK).group(0))
    expect(owner.get_by_role("heading", name="Stop the email change")).to_be_visible()
    owner.get_by_role("button", name="This wasn't me: stop it and sign out everywhere").click()

    expect(owner.locator("#notice")).to_contain_text("every session signed out")
    expect(owner.locator("#signed-out")).to_be_visible()
    assert User.objects.filter(email="ada@example.com", email_verified=True).exists()
    # The session that made the change is over: its next call signs it out.
    page.get_by_role("button", name="Refresh tokens").click()
    expect(page.locator("#signed-out")).to_be_visible()


def test_turn_a_security_email_off_and_it_stays_off(page):
    sign_in_with_dev(page)
    new_device = page.get_by_role("checkbox", name="A sign-in from a new device")
    expect(new_device).to_be_checked()

    new_device.uncheck()

    expect(page.locator("#notice")).to_have_text("Security email choices saved.")
    assert NoticeSettings.objects.get(user__email="ada@example.com").kinds_off == ["new_device"]
    page.reload()
    expect(page.get_by_role("checkbox", name="A sign-in from a new device")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="The password changed")).to_be_checked()


def test_a_refused_choice_leaves_its_box_as_it_was(page):
    sign_in_with_dev(page)
    refused = '{"title": "Too many requests", "code": "throttled", "status": 429}'
    page.route(
        "**/api/users/me/notices",
        lambda route: (
            route.fulfill(status=429, content_type="application/problem+json", body=refused)
            if route.request.method == "PATCH"
            else route.continue_()
        ),
    )
    box = page.get_by_role("checkbox", name="A passkey added")

    box.click()

    expect(page.locator("#problem-code")).to_have_text("throttled")
    expect(box).to_be_checked()
    assert not NoticeSettings.objects.exists()


def test_the_pages_speak_korean(browser, dev_stack):
    context = browser.new_context(base_url=dev_stack.url, locale="ko-KR")
    try:
        page = context.new_page()
        page.goto("/")
        form = page.locator("#code-request-form")
        form.get_by_label("이메일").fill("grace@example.com")
        form.get_by_role("button", name="이메일로 코드 받기").click()
        expect(page.get_by_label("코드", exact=True)).to_be_visible()
        expect(page.locator("#notice")).to_contain_text("grace@example.com")

        page.goto("/auth/email-change-cancel#uid=a&token=b")
        expect(page.get_by_role("heading", name="이메일 변경 중단")).to_be_visible()
    finally:
        context.close()
