"""Browser tests: Playwright drives Debian's Chromium against Django's live_server.

live_server answers from another thread, so the data must be committed (transactional_db), and the
Playwright sync API runs an event loop in the test thread, hence DJANGO_ALLOW_ASYNC_UNSAFE for the ORM
calls the tests make to check the database.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, make_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
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
