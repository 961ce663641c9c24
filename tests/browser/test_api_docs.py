"""The API's docs page, /api/v1/docs: Swagger UI, which django-ninja serves from its own static files (nothing is
loaded from the internet), renders every operation of the document in real Chromium, and a call made from it
works with the browser's session. Nothing on the way may go wrong: no console error, no uncaught exception, no
failed request, no answer of 400 or more, and nothing the server logs as one (Chromium fetches a favicon behind
Playwright's back, so only the server's log shows that one)."""

import logging
import time

from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from tests.browser.conftest import login

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class Watch:
    """Everything that went wrong while the page loaded: in the browser, and in the server's log."""

    def __init__(self, page: Page, caplog, origin: str):
        self.origin = origin
        self.caplog = caplog
        self.problems: list[str] = []
        self.requested: list[str] = []
        caplog.set_level(logging.WARNING, logger="django.request")
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("request", lambda request: self.requested.append(request.url))

    def _failed(self, request) -> None:
        # The browser cancels what a page was still fetching (its icon, say) when the page moves on, e.g. the
        # login's redirect: not a missing file, which shows as an error answer or in the server's log.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.method} {request.url} {request.failure}")

    def _console(self, message) -> None:
        if message.type in ("error", "assert"):
            self.problems.append(f"console {message.type}: {message.text} at {message.location.get('url')}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def server_log(self) -> list[str]:
        """What the server logged as an error answer (a 404 for a file, a 500) while the page was open."""
        return [record.getMessage() for record in self.caplog.records
                if record.name == "django.request" and record.levelno >= logging.WARNING]

    def offsite(self) -> list[str]:
        return [url for url in self.requested if not url.startswith((self.origin, "data:", "blob:"))]


def session_for(page: Page, live_server, user) -> None:
    """Logged in through a session made on the server side: only the docs page itself is loaded."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def operation_count(page: Page, live_server) -> int:
    document = page.request.get(f"{live_server.url}/api/v1/openapi.json").json()
    return sum(1 for item in document["paths"].values() for method in item if method in METHODS)


def test_the_docs_page_renders_every_operation_and_calls_one(page: Page, live_server, world, caplog):
    admin = world.alpha.user("admin")
    session_for(page, live_server, admin)
    watch = Watch(page, caplog, live_server.url)
    page.goto(f"{live_server.url}/api/v1/docs")
    expected = operation_count(page, live_server)
    assert expected > 50
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("stocktrace API")
    expect(page.locator(".opblock")).to_have_count(expected)

    me = page.locator(".opblock.opblock-get").filter(has=page.locator(".opblock-summary-path[data-path='/api/v1/me']"))
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")
    expect(me.locator(".live-responses-table tr.response .response-col_description")).to_contain_text(admin.email)
    page.wait_for_load_state("networkidle")

    assert not watch.problems, "\n".join(watch.problems)
    assert not watch.offsite(), f"the docs page asked another host: {watch.offsite()}"
    assert not watch.server_log(), f"the server logged error answers: {watch.server_log()}"


def test_logging_in_and_opening_the_docs_asks_for_nothing_missing(page: Page, live_server, world, caplog):
    """The way a person gets there: the login form, the home page, then the docs page."""
    watch = Watch(page, caplog, live_server.url)
    login(page, live_server, world.alpha.user("admin").email)
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    deadline = time.monotonic() + 5  # Chromium asks for a missing favicon after the page has loaded
    while not watch.server_log() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert not watch.problems, "\n".join(watch.problems)
    assert not watch.server_log(), f"the server logged error answers: {watch.server_log()}"
