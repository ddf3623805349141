"""Every page in English and Korean, on a phone and a desktop: axe-core finds no serious or critical
violation, nothing scrolls sideways, the language switch works, and a signed-out load or a whole dev
sign-in logs no console error (docs/browser-tests.md#languages-phones-and-accessibility).

axe-core comes from npm (tests/verifiers/package.json, `npm ci` there); Playwright evaluates it in the
page through the DevTools protocol, which the pages' strict CSP does not govern, so the CSP stays as served.
"""

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from playwright.sync_api import Page, expect

from devidp.social_entry import dev_redirect_uris
from social.providers.apple.fixtures import APPLE_SETTINGS
from social.providers.google.fixtures import GOOGLE_SETTINGS
from social.providers.kakao.fixtures import KAKAO_SETTINGS
from social.providers.naver.fixtures import NAVER_AUTHORIZE_URL, NAVER_SETTINGS

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[1] / "verifiers" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA and axe's best practices; what fails the test is a violation of these impacts.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}
# The elements that stick out of the viewport, innermost first: what a failure names.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
  .filter((el) => ![...el.children].some((child) => child.getBoundingClientRect().right > innerWidth + 0.5))
  .slice(0, 5)
  .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${[...el.classList].join(".")}`
    + ` ${Math.round(el.getBoundingClientRect().right)}px`)"""
PHONES = (320, 390)
AXE_WIDTHS = (390, 1280)
# Playwright's locale sets the browser's Accept-Language: how a first visit picks the page's language.
LOCALES = {"en": "en-US", "ko": "ko-KR"}
SIGN_IN_WITH_DEV = {"en": "Sign in with Dev", "ko": "Dev(으)로 로그인"}
WHO_ARE_YOU = {"en": "Who are you?", "ko": "누구로 로그인할까요?"}


@pytest.fixture(scope="session")
def axe_source() -> str:
    if AXE.exists():
        return AXE.read_text()
    message = f"axe-core is not installed at {AXE}: run `npm ci` in tests/verifiers."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def every_provider(settings, dev_stack):
    """Kakao, Naver, Google and Apple offered beside the dev provider, as their fixtures configure them."""
    for provider_settings in (KAKAO_SETTINGS, NAVER_SETTINGS, GOOGLE_SETTINGS, APPLE_SETTINGS):
        for name, value in provider_settings.items():
            setattr(settings, name, value)
    # make run's default: every provider's callback on this server.
    settings.SOCIAL_REDIRECT_URIS = dev_redirect_uris(dev_stack.url)
    return dev_stack


@pytest.fixture
def open_in(browser, every_provider):
    """open_in(language) -> a page whose browser asks for that language, recording its console errors."""
    contexts = []

    def open_page(language: str) -> Page:
        context = browser.new_context(base_url=every_provider.url, locale=LOCALES[language])
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.console_errors.append(f"script error: {error}"))  # type: ignore[attr-defined]
        return page

    yield open_page
    for context in contexts:
        context.close()


def blocking_violations(page: Page, axe_source: str) -> list[str]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    # resultTypes: every violation with all its nodes, as without it; the passes and the rest, which
    # nothing here reads, with one node each rather than a selector built for every node of every rule.
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
    )
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(f"{node['target']} {node['failureSummary'][-160:]!r}" for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def check_page(page: Page, axe_source: str, name: str, problems: list[str]) -> None:
    """Each width in turn: sideways scrolling at the phones' widths, axe at a phone's and a desktop's."""
    for width in sorted({*PHONES, *AXE_WIDTHS}):
        page.set_viewport_size({"width": width, "height": 800})
        if width in PHONES:
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                problems.append(f"{name} at {width} px: {scroll_width} px wide: {page.evaluate(OVERFLOWING)}")
        if width in AXE_WIDTHS:
            problems += [f"{name} at {width} px: {violation}" for violation in blocking_violations(page, axe_source)]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_page_is_accessible_and_fits_a_phone(open_in, axe_source, screenshot, language):
    page = open_in(language)
    problems: list[str] = []

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("button", name=SIGN_IN_WITH_DEV[language])).to_be_visible()
    check_page(page, axe_source, "sign-in", problems)
    if language == "ko":
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "sign-in-ko-phone", full_page=True)
    # No session to resume: the load asked nothing that fails.
    assert page.console_errors == []  # type: ignore[attr-defined]

    # The emailed-code form once a code is asked for, with its code field.
    page.locator("#code-request-form input[name=email]").fill("grace@example.com")
    page.locator("#code-request-form button").click()
    expect(page.locator("#code-form input[name=code]")).to_be_visible()
    check_page(page, axe_source, "code sign-in", problems)

    page.get_by_role("button", name=SIGN_IN_WITH_DEV[language]).click()
    expect(page.get_by_role("heading", name=WHO_ARE_YOU[language])).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    check_page(page, axe_source, "dev provider", problems)

    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#sessions tr")).to_have_count(1)
    check_page(page, axe_source, "signed-in", problems)
    if language == "en":
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, "signed-in-en-desktop", full_page=True)
    # The whole dev sign-in, redirects and API calls included, logged no error either.
    assert page.console_errors == []  # type: ignore[attr-defined]

    # Second factors (mfa.js): TOTP's setup, the recovery codes, then the second step of the next sign-in.
    page.locator("#totp-start").click()
    expect(page.locator("#totp-qr")).to_be_visible()
    check_page(page, axe_source, "TOTP setup", problems)
    secret = page.locator("#totp-secret").text_content()
    page.locator("#totp-confirm-form input[name=code]").fill(pyotp.TOTP(secret).now())
    page.locator("#totp-confirm-form button").click()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    check_page(page, axe_source, "recovery codes", problems)
    page.locator("#logout").click()
    page.get_by_role("button", name=SIGN_IN_WITH_DEV[language]).click()
    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#factor-prompt")).to_be_visible()
    check_page(page, axe_source, "second step", problems)
    # That sign-in's answer is a 403 mfa_required, which Chromium logs as a failed load: the only one expected.
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]  # type: ignore[attr-defined]
    page.console_errors.clear()  # type: ignore[attr-defined]

    # The email change's pages, as their links open them (a made-up token: only a click posts it).
    for path in ("/auth/email-change", "/auth/email-change-cancel"):
        page.goto(f"{path}#uid=MQ&token=made-up")
        expect(page.locator(f"#{path.removeprefix('/auth/')} h1")).to_be_visible()
        check_page(page, axe_source, path, problems)
    assert page.console_errors == []  # type: ignore[attr-defined]

    page.goto("/dev-idp/authorize?client_id=nobody")
    check_page(page, axe_source, "dev provider error", problems)

    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info")).to_be_visible()
    check_page(page, axe_source, "/api/docs", problems)

    assert not problems, "\n".join(problems)


def test_repeated_buttons_say_which_row_they_act_on(open_in):
    page = open_in("en")
    page.goto("/")
    page.get_by_role("button", name="Sign in with Dev").click()
    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#signed-in")).to_be_visible()
    end = page.locator("#sessions tr button")
    expect(end).to_have_text("End")
    expect(end).to_have_accessible_name(re.compile(r"^End the session on .*HeadlessChrome.*, 127\.0\.0\.1$"))
    expect(page.locator("#identities tr button")).to_have_accessible_name("Unlink dev (ada@example.com)")
    # The security emails: each checkbox named by the notice it turns off.
    expect(page.get_by_role("checkbox", name="A sign-in from a new device")).to_be_checked()


def test_the_language_switch_changes_the_page_and_stays(open_in):
    page = open_in("en")
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Login with Kakao")).to_be_visible()

    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="로그인", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="카카오 로그인")).to_be_visible()
    expect(page.get_by_role("button", name="네이버 로그인")).to_be_visible()
    expect(page.get_by_role("button", name="Google 계정으로 로그인")).to_be_visible()
    expect(page.get_by_role("button", name="Apple로 로그인")).to_be_visible()
    expect(page.get_by_role("button", name="한국어")).to_have_attribute("aria-current", "true")

    # The choice outlives the browser's Accept-Language: a reload stays Korean, and so does the dev provider.
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_role("button", name="Dev(으)로 로그인").click()
    expect(page.get_by_role("heading", name="누구로 로그인할까요?")).to_be_visible()

    page.goto("/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Log in with NAVER")).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_with_forced_colours_the_white_marks_take_the_buttons_text_colour(open_in):
    """Windows high contrast repaints the buttons, not an SVG's fill: Naver's N and Apple's mark were white on white."""
    page = open_in("en")
    page.emulate_media(forced_colors="active", color_scheme="light")
    page.goto("/")
    for label in ("Log in with NAVER", "Sign in with Apple"):
        button = page.get_by_role("button", name=label)
        expect(button).to_be_visible()
        fill, text = button.evaluate(
            "b => [getComputedStyle(b.querySelector('.mark path')).fill, getComputedStyle(b).color]"
        )
        assert fill == text, (label, fill, text)
        background = button.evaluate("b => getComputedStyle(b).backgroundColor")
        assert fill != background, (label, fill, background)


def test_naver_under_make_runs_defaults_reaches_naver(open_in, every_provider):
    """make run's SOCIAL_REDIRECT_URIS lists Naver's callback: its button leads to Naver's own page."""
    page = open_in("ko")
    # Naver is outside this machine: its authorize page is answered here, as it would show its login.
    page.route(
        f"{NAVER_AUTHORIZE_URL}*",
        lambda route: route.fulfill(content_type="text/html", body="<title>NAVER</title><h1>NAVER</h1>"),
    )
    page.goto("/")
    page.get_by_role("button", name="네이버 로그인").click()
    page.wait_for_url(f"{NAVER_AUTHORIZE_URL}*")
    query = parse_qs(urlsplit(page.url).query)
    assert query["redirect_uri"] == [f"{every_provider.url}/auth/callback/naver"]
    assert query["client_id"] == [NAVER_SETTINGS["SOCIAL_NAVER_CLIENT_ID"]]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_language_switch_works_on_the_link_pages_and_after_a_provider_sign_in(open_in):
    """Those pages keep their code or token out of any Referer: the switch's POST still carries the page's
    Origin, or Django's CSRF check refuses it (a 403 in English). A link's page stays, with its link: the
    token has left the address bar, and would otherwise be lost with the reload."""
    page = open_in("en")
    for path in ("/auth/verify-email", "/auth/reset-password", "/auth/email-change", "/auth/email-change-cancel"):
        section = page.locator(f"#{path.removeprefix('/auth/')}")
        page.goto(f"{path}#uid=MQ&token=made-up")
        expect(section.locator("h1")).to_be_visible()
        page.get_by_role("button", name="한국어").click()
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(section.locator("h1")).to_be_visible()
        assert "made-up" not in page.url
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(section.locator("h1")).to_be_visible()

    # The carried link is the one the form then sends.
    page.goto("/auth/verify-email#uid=MQ&token=made-up")
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("#verify-email h1")).to_be_visible()
    with page.expect_request("**/api/auth/email/verify") as verify:
        page.locator("#verify-email input[type=password]").fill("correct horse battery staple")
        page.locator("#verify-email button[type=submit]").click()
    assert {key: verify.value.post_data_json[key] for key in ("uid", "token")} == {"uid": "MQ", "token": "made-up"}
    expect(page.locator("#problem-code")).to_have_text("link_invalid")  # made up: the page drops it
    page.console_errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")  # type: ignore[attr-defined]
    page.get_by_role("button", name="English").click()

    # A provider sign-in: the callback's page, now signed in (the cookie resumes the session after the switch).
    page.get_by_role("button", name="Sign in with Dev").click()
    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#signed-in")).to_be_visible()
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.get_by_role("button", name="로그아웃", exact=True)).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]


SITE = {"en": "Auth backend", "ko": "인증 백엔드"}
TITLES = {
    "en": {"sign-in": "Sign in", "signed-in": "Your account", "prompt": "Confirm it's you"},
    "ko": {"sign-in": "로그인", "signed-in": "내 계정", "prompt": "본인 확인"},
}


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_title_names_the_view(open_in, language):
    """A tab's title, and the first thing a screen reader says of a page, follows what the page shows."""
    titles = {view: f"{name} · {SITE[language]}" for view, name in TITLES[language].items()}
    page = open_in(language)
    # An emailed link's page: its heading.
    for path in ("/auth/verify-email", "/auth/reset-password", "/auth/email-change", "/auth/email-change-cancel"):
        page.goto(f"{path}#uid=MQ&token=made-up")
        heading = page.locator(f"#{path.removeprefix('/auth/')} h1").text_content()
        expect(page).to_have_title(f"{heading} · {SITE[language]}")

    page.goto("/")
    expect(page).to_have_title(titles["sign-in"])
    page.get_by_role("button", name=SIGN_IN_WITH_DEV[language]).click()
    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page).to_have_title(titles["signed-in"])

    # The second step's prompt: TOTP on, then the next sign-in.
    page.locator("#totp-start").click()
    expect(page.locator("#totp-qr")).to_be_visible()
    secret = page.locator("#totp-secret").text_content()
    page.locator("#totp-confirm-form input[name=code]").fill(pyotp.TOTP(secret).now())
    page.locator("#totp-confirm-form button").click()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    page.locator("#logout").click()
    expect(page).to_have_title(titles["sign-in"])
    page.get_by_role("button", name=SIGN_IN_WITH_DEV[language]).click()
    page.locator("button.preset[data-email='ada@example.com']").click()
    expect(page.locator("#factor-prompt")).to_be_visible()
    expect(page).to_have_title(titles["prompt"])
