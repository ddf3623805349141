"""Browser sessions in Chromium (docs/sessions.md): reloads, tabs, expiry, a frontend on another origin, and a
page on a third origin that must not use the refresh cookie."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import REFRESH_API, refresh_cookie, sign_in
from tests.forge import claims_of
from tokens.models import RefreshToken, Session

pytestmark = pytest.mark.e2e

SIGN_IN_BUTTON = "Sign in with Dev"


def same_browser_tab(page: Page) -> Page:
    """Another tab of the browser `page` is in (its cookies), opened on the sign-in page."""
    tab = page.context.new_page()
    tab.goto("/")
    return tab


def successors_of(refresh_token: str) -> int:
    return RefreshToken.objects.filter(rotated_from_id=claims_of(refresh_token)["jti"]).count()


def test_a_reload_stays_signed_in(page):
    sign_in(page)

    with page.expect_response(REFRESH_API) as silent:
        page.reload()

    assert silent.value.ok
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("ada@example.com")
    expect(page.locator("#problem")).to_be_hidden()


def test_two_tabs_refreshing_at_the_same_instant_both_stay_signed_in_with_one_successor(page):
    sign_in(page)
    other = same_browser_tab(page)
    expect(other.locator("#signed-in")).to_be_visible()  # resumed from the shared cookie
    presented = refresh_cookie(page)

    # Both tabs press "Refresh tokens" at the same moment of the browser's clock.
    at = page.evaluate("Date.now() + 300")
    for tab in (page, other):
        tab.evaluate("at => setTimeout(() => document.getElementById('refresh').click(), at - Date.now())", at)

    for tab in (page, other):
        expect(tab.locator("#notice")).to_contain_text("New token pair")
        expect(tab.locator("#signed-in")).to_be_visible()
        expect(tab.locator("#problem")).to_be_hidden()
    assert successors_of(presented) == 1
    assert Session.objects.filter(ended_at__isnull=True).count() == 1


def test_a_logout_in_one_tab_signs_the_other_tabs_out_at_once(page):
    sign_in(page)
    other = same_browser_tab(page)
    expect(other.locator("#signed-in")).to_be_visible()

    page.get_by_role("button", name="Log out", exact=True).click()

    expect(other.get_by_role("button", name=SIGN_IN_BUTTON)).to_be_visible(timeout=1000)
    expect(other.locator("#notice")).to_have_text("Signed out in another tab.")
    assert Session.objects.get().end_reason == "logout"


def test_past_the_access_tokens_expiry_the_page_refreshes_once_and_retries_instead_of_signing_out(new_page):
    phone = new_page()
    sign_in(phone)
    page = new_page()
    page.clock.install()
    sign_in(page)
    rows = page.locator("#sessions tr")
    expect(rows).to_have_count(2)

    # Past JWT_ACCESS_TTL (15 minutes) in the page and on the server alike.
    page.clock.fast_forward("16:00")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        with page.expect_response(REFRESH_API) as refreshed:
            rows.filter(has_not_text="this tab").get_by_role("button", name="End").click()
        expect(rows).to_have_count(1)

    assert refreshed.value.ok
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#problem")).to_be_hidden()
    expect(page.locator("#notice")).to_have_text("Session ended.")


def test_a_frontend_on_another_origin_signs_in_calls_the_api_refreshes_and_logs_out(page, separate_origin):
    page.goto(separate_origin)
    page.get_by_role("button", name=SIGN_IN_BUTTON).click()
    page.locator("button.preset[data-email='ada@example.com']").click()

    expect(page.locator("#status")).to_have_text("Signed in.")
    assert page.url == f"{separate_origin}/"
    expect(page.locator("#output")).to_contain_text('"email": "ada@example.com"')  # GET /api/users/me

    with page.expect_response(REFRESH_API) as refreshed:
        page.get_by_role("button", name="Refresh").click()
    assert refreshed.value.ok
    assert refreshed.value.json()["refresh"] is None
    expect(page.locator("#status")).to_have_text("Refreshed.")

    with page.expect_response(re.compile(r"/api/users/me$")) as me:
        page.get_by_role("button", name="Call /api/users/me").click()
    assert me.value.ok
    assert me.value.headers["access-control-allow-origin"] == separate_origin

    page.reload()  # the cookie keeps this origin signed in too
    expect(page.locator("#status")).to_have_text("Signed in.")

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#status")).to_have_text("Signed out.")
    expect(page.get_by_role("button", name=SIGN_IN_BUTTON)).to_be_visible()
    assert Session.objects.get().end_reason == "logout"


def test_a_page_on_a_third_origin_cannot_refresh_with_the_cookie(page, dev_stack, third_origin):
    sign_in(page)
    refresh_token = refresh_cookie(page)
    page.goto(third_origin)

    outcome = page.evaluate(
        """async (url) => {
            // With the custom header: the preflight is refused, the request never leaves.
            let withHeader;
            try {
                await fetch(url, {method: "POST", credentials: "include", headers: {"X-Requested-With": "fetch"}});
                withHeader = "answered";
            } catch {
                withHeader = "blocked";
            }
            // A simple request needs no preflight: it arrives with the cookie, without the header.
            await fetch(url, {method: "POST", credentials: "include", mode: "no-cors"});
            return withHeader;
        }""",
        f"{dev_stack.url}/api/auth/token/refresh",
    )
    assert outcome == "blocked"

    # A cross-site form post: the browser shows the API's answer.
    page.evaluate(
        """url => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            document.body.append(form);
            form.submit();
        }""",
        f"{dev_stack.url}/api/auth/token/refresh",
    )
    page.wait_for_url(f"{dev_stack.url}/api/auth/token/refresh")
    expect(page.locator("body")).to_contain_text('"code": "csrf_failed"')

    # None of it used the cookie: the sign-in page is still signed in with the same token.
    assert successors_of(refresh_token) == 0
    page.goto("/")
    expect(page.locator("#signed-in")).to_be_visible()
