"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

The live server runs the whole stack in this process: the sign-in page, the API, and the
development identity provider, which the social app calls over HTTP as it would Google.
"""

import importlib.util
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

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
    """The live server with the dev provider on and the refresh token in its cookie, as `make run` has it."""
    settings.DEBUG = True
    settings.JWT_REFRESH_TRANSPORT = "cookie"
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


def _serve(server: ThreadingHTTPServer, host: str) -> Iterator[str]:
    """Runs `server` in a thread for one test; yields its origin."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _example_server_module():
    path = Path(__file__).resolve().parents[2] / "examples" / "separate-origin" / "serve.py"
    spec = importlib.util.spec_from_file_location("separate_origin_serve", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def separate_origin(dev_stack, settings) -> Iterator[str]:
    """examples/separate-origin served from another port of the API's host: its own origin, the same site.

    The API lists it in CORS_ALLOWED_ORIGINS and its callback in SOCIAL_REDIRECT_URIS, as
    docs/sessions.md tells a deployment to.
    """
    host = urlsplit(dev_stack.url).hostname or "localhost"
    server = _example_server_module().make_server(api_origin=dev_stack.url, host=host)
    origin = f"http://{host}:{server.server_port}"
    settings.CORS_ALLOWED_ORIGINS = [origin]
    settings.SOCIAL_REDIRECT_URIS = [*settings.SOCIAL_REDIRECT_URIS, f"{origin}/auth/callback/dev"]
    yield from _serve(server, host)


class _AnotherSite(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Another site</title><p>Nothing to see here.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def third_origin(dev_stack) -> Iterator[str]:
    """A page on a third origin of the API's host, listed nowhere: what an attacker's page would be.

    Same site as the API on purpose, so SameSite does not keep the cookie off its requests:
    only CORS and the CSRF check stand in its way.
    """
    host = urlsplit(dev_stack.url).hostname or "localhost"
    yield from _serve(ThreadingHTTPServer((host, 0), _AnotherSite), host)
