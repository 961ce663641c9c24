"""Browser tests: Playwright drives Debian's Chromium against Django's live_server.

live_server answers from another thread, so the data must be committed (transactional_db). Playwright's
sync API keeps an asyncio loop running in the test thread while it lives, so the ORM calls the tests make
need DJANGO_ALLOW_ASYNC_UNSAFE then. Playwright and that flag live for this folder's modules only, not the
whole session (pytest-playwright's default): otherwise the running loop and the flag leak into every later
test of the worker, e.g. a subprocess running `check --deploy` inherits the flag and fails async.E001.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.factories import PASSWORD, make_world

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
expect.set_options(timeout=10_000)  # a loaded CI machine; a passing test does not wait for it

HERE = Path(__file__).resolve().parent
SHOTS = Path("/tmp/shots")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            # pytest-base-url (pulled in by pytest-playwright) still defines a session fixture as a method.
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


# pytest-playwright's playwright/browser fixtures, at module scope instead of session scope (see above).
@pytest.fixture(scope="module")
def playwright(_pw_api_request_contexts):
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ.setdefault(ASYNC_UNSAFE, "true")
    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    yield pw
    pw.stop()
    if previous is None:
        os.environ.pop(ASYNC_UNSAFE, None)


@pytest.fixture(scope="module")
def browser_context_args(pytestconfig, playwright, device, base_url, _pw_artifacts_folder):
    args = dict(playwright.devices[device]) if device else {}
    if base_url:
        args["base_url"] = base_url
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        args["record_video_dir"] = _pw_artifacts_folder.name
    return args


@pytest.fixture(scope="module")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="module")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture
def world(transactional_db):
    """Two organizations (alpha, bravo) with a person for every role; committed, so live_server sees it."""
    return make_world()


@pytest.fixture
def page(page: Page) -> Page:
    # Fail fast rather than wait 30 s for something that is not coming.
    page.set_default_timeout(10_000)
    page.set_default_navigation_timeout(15_000)
    return page


def login(page: Page, live_server, email: str, password: str = PASSWORD) -> None:
    """Log in through the form; asserts that the login page is left (the caller checks where it landed)."""
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
