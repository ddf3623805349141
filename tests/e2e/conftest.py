"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

The live server runs the whole stack in this process: the sign-in page, the API, and the
development identity provider, which the social app calls over HTTP as it would Google.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devidp.social_entry import social_provider_entry

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Test runs write here (git ignores it); `make screenshots` points this at docs/screenshots,
# the README's copies, so that an ordinary `make test` leaves the work tree clean.
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOT_DIR") or Path(__file__).resolve().parent / "artifacts")
# Fail fast: every step of these flows is local and takes milliseconds.
STEP_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = (
        f"The browser tests need Debian's Chromium at {CHROMIUM}: "
        "install it with `sudo apt-get install chromium` (never `playwright install`)."
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message} CI must run them.", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def dev_stack(settings, live_server):
    """The live server with the dev provider on, as `make run` has it: the only provider."""
    settings.DEBUG = True
    settings.SOCIAL_DEV_PROVIDER = True
    settings.SOCIAL_DEV_BASE_URL = live_server.url
    settings.SOCIAL_REDIRECT_URIS = [f"{live_server.url}/auth/callback/dev"]
    settings.SOCIAL_KAKAO_CLIENT_ID = ""
    settings.SOCIAL_GOOGLE_CLIENT_ID = ""
    settings.SOCIAL_OIDC_PROVIDERS = {
        "dev": social_provider_entry(
            base_url=live_server.url,
            client_id=settings.SOCIAL_DEV_CLIENT_ID,
            client_secret=settings.SOCIAL_DEV_CLIENT_SECRET,
            native_client_id=settings.SOCIAL_DEV_NATIVE_CLIENT_ID,
        )
    }
    return live_server


@pytest.fixture(scope="module")
def browser(chromium_path) -> Iterator:
    """One Chromium for the module's tests; each test opens its own contexts."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio loop running in this thread, so Django
        # refuses the tests' own database calls (live_server's flush after each test) as
        # async-unsafe. Django's documented switch for that case, on only while it runs.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def new_page(browser, dev_stack):
    """Opens a page in a fresh browser context (its own sessionStorage: another device).

    Each page fails its test on an uncaught script error or a Content-Security-Policy
    violation, so the strict CSP is checked by every scenario.
    """
    contexts = []
    problems: list[str] = []

    def open_page():
        context = browser.new_context(base_url=dev_stack.url, viewport={"width": 1100, "height": 640})
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot():
    """Saves a screenshot as SCREENSHOTS/<name>.png."""

    def save(target, name: str, **options) -> None:
        """`target` is a page or a locator; `options` go to its screenshot()."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(SCREENSHOTS / f"{name}.png"), **options)

    return save
