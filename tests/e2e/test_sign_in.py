"""The redirect-callback flow as a person sees it, in a real browser (see docs/browser-tests.md)."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

CALLBACK_API = re.compile(r"/api/auth/social/dev/callback$")
REFRESH_API = re.compile(r"/api/auth/token/refresh$")


def sign_in(page: Page, *, email: str = "ada@example.com") -> dict:
    """Signs in with the dev provider as a preset test user; the callback's JSON body."""
    page.goto("/")
    page.get_by_role("button", name="Sign in with Dev").click()
    expect(page.get_by_role("heading", name="Who are you?")).to_be_visible()
    with page.expect_response(CALLBACK_API) as callback:
        page.locator(f"button.preset[data-email='{email}']").click()
    expect(page.locator("#signed-in")).to_be_visible()
    assert callback.value.ok, callback.value.text()
    return callback.value.json()


def refresh_status(page: Page, refresh_token: str) -> int:
    """What the API answers to this refresh token, asked outside the page.

    With the page's cookies, so with the header a request carrying the refresh cookie needs.
    """
    response = page.request.post(
        "/api/auth/token/refresh", data={"refresh": refresh_token}, headers={"X-Requested-With": "test"}
    )
    return response.status


def refresh_cookie(page: Page) -> str:
    """The refresh token the browser holds (HttpOnly: the page itself never sees it)."""
    return next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "refresh_token")


def test_sign_in_with_the_dev_provider_shows_the_user(page, screenshot, dev_stack):
    page.goto("/")
    expect(page.get_by_role("button", name="Sign in with Dev")).to_be_visible()
    screenshot(page, "sign-in")

    page.get_by_role("button", name="Sign in with Dev").click()
    expect(page.get_by_role("heading", name="Who are you?")).to_be_visible()
    page.get_by_label("Email", exact=True).fill("margaret@example.com")
    page.get_by_label("Display name").fill("Margaret Hamilton")
    with page.expect_response(CALLBACK_API) as callback:
        page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.locator("#user-name")).to_have_text("Margaret Hamilton")
    expect(page.locator("#user-email")).to_have_text("margaret@example.com")
    expect(page.locator("#user-created")).to_be_visible()
    expect(page.locator("#access-token")).to_have_value(callback.value.json()["access"])
    # The code and state left the address bar at once.
    assert page.url == f"{dev_stack.url}/"
    expect(page.locator("#sessions tr")).to_have_count(1)
    screenshot(page, "signed-in", full_page=True)

    # Copy: the token on the clipboard, and the status region (role=status) saying so for a screen reader too.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == callback.value.json()["access"]


def test_refresh_rotates_the_pair_and_the_refresh_token_stays_in_its_cookie(page):
    first = sign_in(page)
    assert first["refresh"] is None
    first_refresh = refresh_cookie(page)

    with page.expect_response(REFRESH_API) as refreshed:
        page.get_by_role("button", name="Refresh tokens").click()

    second = refreshed.value.json()
    assert second["refresh"] is None
    assert refreshed.value.request.headers["x-requested-with"] == "fetch"
    second_refresh = refresh_cookie(page)
    assert second_refresh != first_refresh
    expect(page.locator("#access-token")).to_have_value(second["access"])
    expect(page.locator("#notice")).to_contain_text("New token pair")
    expect(page.locator("#user-email")).to_have_text("ada@example.com")
    # Within JWT_REFRESH_REUSE_INTERVAL the old token gets the current one back; after it,
    # its replay is reuse (tests/unit/test_token_reuse_interval.py).
    assert refresh_status(page, first_refresh) == 200
    assert refresh_cookie(page) == second_refresh


def test_the_session_list_ends_another_session(new_page):
    laptop, phone = new_page(), new_page()
    sign_in(phone)
    on_phone = refresh_cookie(phone)
    sign_in(laptop)
    rows = laptop.locator("#sessions tr")
    expect(rows).to_have_count(2)

    other = rows.filter(has_not_text="this tab")
    other.get_by_role("button", name="End").click()

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("this tab")
    assert refresh_status(laptop, on_phone) == 401


def test_logout_ends_the_refresh_token_and_deletes_its_cookie(page):
    sign_in(page)
    refresh_token = refresh_cookie(page)

    page.get_by_role("button", name="Log out", exact=True).click()

    expect(page.locator("#notice")).to_have_text("Signed out.")
    expect(page.get_by_role("button", name="Sign in with Dev")).to_be_visible()
    assert "refresh_token" not in {cookie["name"] for cookie in page.context.cookies()}
    assert refresh_status(page, refresh_token) == 401


def test_logout_all_from_a_second_browser_ends_the_first(new_page):
    first, second = new_page(), new_page()
    sign_in(first)
    sign_in(second)

    second.get_by_role("button", name="Log out everywhere").click()
    expect(second.locator("#notice")).to_contain_text("2 session(s) ended")

    with first.expect_response(REFRESH_API) as refused:
        first.get_by_role("button", name="Refresh tokens").click()
    assert refused.value.status == 401
    expect(first.locator("#problem-code")).to_have_text(refused.value.json()["code"])
    expect(first.locator("#problem-title")).to_have_text(refused.value.json()["title"])
    expect(first.get_by_role("button", name="Sign in with Dev")).to_be_visible()


def test_a_state_changed_on_the_way_back_is_refused_by_the_page(page):
    page.goto("/")
    page.get_by_role("button", name="Sign in with Dev").click()
    expect(page.get_by_role("heading", name="Who are you?")).to_be_visible()
    # The identity provider is on this origin, so its page can reach the sign-in page's
    # sessionStorage: as if the callback came back for a login this tab did not start.
    page.evaluate("sessionStorage.setItem('signin.pending', JSON.stringify({provider: 'dev', state: 'tampered'}))")

    page.locator("button.preset[data-email='ada@example.com']").click()

    expect(page.locator("#problem-code")).to_have_text("state_invalid")
    expect(page.locator("#signed-in")).to_be_hidden()
    assert "state=" not in page.url


def test_a_state_the_server_never_issued_shows_state_invalid(page):
    page.goto("/")
    page.evaluate("sessionStorage.setItem('signin.pending', JSON.stringify({provider: 'dev', state: 'forged'}))")

    with page.expect_response(CALLBACK_API) as refused:
        page.goto("/auth/callback/dev?code=some-code&state=forged")

    assert refused.value.status == 400
    assert refused.value.json()["code"] == "state_invalid"
    expect(page.locator("#problem-code")).to_have_text("state_invalid")
    expect(page.locator("#problem-title")).to_have_text(refused.value.json()["title"])


def test_cancelling_at_the_provider_shows_its_error(page):
    page.goto("/")
    page.get_by_role("button", name="Sign in with Dev").click()

    page.get_by_role("button", name="Cancel and go back (access_denied)").click()

    expect(page.locator("#problem-code")).to_have_text("access_denied")
    expect(page.get_by_role("button", name="Sign in with Dev")).to_be_visible()


def test_the_docs_authorize_with_the_token_and_run_users_me(page, screenshot):
    access = sign_in(page)["access"]
    page.goto("/api/docs")
    # Swagger UI renders the whole OpenAPI document first: seconds on a loaded machine (5 s ran out once).
    expect(page.get_by_role("link", name="the sign-in page")).to_have_attribute("href", "/", timeout=30_000)

    page.get_by_role("button", name="Authorize").first.click()
    # The dialog has one form per security scheme (the Kakao unlink callback's key too): use the bearer one.
    bearer_form = page.locator(".modal-ux .auth-container", has_text="JWTAuth")
    bearer_form.get_by_label("auth-bearer-value").fill(access)
    bearer_form.get_by_role("button", name="Apply credentials").click()
    bearer_form.get_by_role("button", name="Close").click()
    operation = page.locator("#operations-users-accounts_api_me")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(re.compile(r"/api/users/me$")) as me:
        operation.get_by_role("button", name="Execute").click()

    assert me.value.status == 200
    assert me.value.json()["email"] == "ada@example.com"
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    screenshot(operation, "api-docs")


def test_the_session_list_shows_a_page_and_the_next_on_demand(page) -> None:
    from core.models import User
    from tokens.services import session_start

    sign_in(page)
    ada = User.objects.get(email="ada@example.com")
    for _ in range(50):  # 51 sessions: one more than the first page holds
        session_start(user=ada, user_agent="elsewhere")
    page.reload()
    rows, more = page.locator("#sessions tr"), page.get_by_role("button", name="More sessions")
    expect(rows).to_have_count(50)

    more.click()

    expect(rows).to_have_count(51)
    expect(more).to_be_hidden()
    # Newest sign-in first: this tab's session, the oldest, comes last.
    expect(rows.last).to_contain_text("this tab")
