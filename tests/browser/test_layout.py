"""Every page, at a phone's width (412 px) and a desktop's (1280 px), in real Chromium: the page never
scrolls sideways, and its screenshot is saved (/tmp/shots/layout/) for a person to look at.

The pages are the ones the generated page tests know (each app's `PAGES`) that answer a GET, plus the
login and password pages, filled with realistic rows: long location codes, several sites, alerts, jobs."""

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page

from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_receive
from tests.browser.conftest import login, shot
from tests.cases import collect, make_rows_everywhere
from tests.factories import PASSWORD, stocked

WIDTHS = {"phone": 412, "desktop": 1280}
LOGGED_OUT_PAGES = ["login", "password_forgot"]
ALSO_LOGGED_IN = ["password_change"]

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !el.closest('.table-wrap, pre');
  }).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' +
         (el.textContent || '').trim().slice(0, 40));
  const tables = [...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1)
    .map(w => (w.querySelector('table') || w).dataset.testid || w.className);
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5), tables};
}"""


def _page_urls(tenant) -> list[tuple[str, str]]:
    """(name, url) of every page that answers a GET with 200 for the tenant's admin."""
    client = Client()
    client.force_login(tenant.user("admin"))
    urls = []
    for name, case in sorted(collect("PAGES").items()):
        if case.method == "POST" and case.kwargs:
            continue  # an action on an object (acknowledge, archive): a button on that object's page
        url = reverse(f"web:{name}", kwargs=case.kwargs(tenant, "admin", tenant) if case.kwargs else None)
        answer = client.get(url)
        if answer.status_code == 200 and answer["Content-Type"].startswith("text/html"):  # not a report's file
            urls.append((name, url))
    return urls + [(name, reverse(f"web:{name}")) for name in ALSO_LOGGED_IN]


@pytest.fixture
def realistic(world):
    """The generated cases' rows, and the codes a real warehouse has: long, hyphenated, nested."""
    tenant = world.alpha
    make_rows_everywhere(tenant, 3)
    actor = tenant.actor()
    item, _ = stocked(tenant)
    site = tenant.sites[0]
    parent = None
    for code in ("WH-NORTH-A", "WH-NORTH-A-01", "WH-NORTH-A-01-R1", "WH-NORTH-A-01-R1-B1"):
        parent = location_create(actor=actor, site=site, code=code, parent=parent, name="Long name " * 4)
    long_item = item_create(actor=actor, sku="HOSE-FIT-3/4-BSP-SS", unit="m",
                            name="Hydraulic hose fitting, three quarter inch, British standard pipe, stainless",
                            tracks_lots=True, barcodes=["5901234123457"])
    stock_receive(actor=actor, item=long_item, location=parent, quantity_received="1234567.5", lot="LOT-2026-11-30-A")
    stock_receive(actor=actor, item=item, location=parent, quantity_received="3")
    return tenant


def _overflow(page: Page) -> dict:
    return page.evaluate(OVERFLOW)


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_no_page_scrolls_sideways(page: Page, live_server, realistic, width):
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    problems = {}
    for name in LOGGED_OUT_PAGES:
        page.goto(live_server.url + reverse(f"web:{name}"))
        shot(page, f"layout/{width}-{name}")
        if (found := _overflow(page))["scrollWidth"] > found["width"]:
            problems[name] = found
    login(page, live_server, realistic.user("admin").email, PASSWORD)
    for name, url in _page_urls(realistic):
        page.goto(live_server.url + url)
        shot(page, f"layout/{width}-{name}")
        if (found := _overflow(page))["scrollWidth"] > found["width"] or found["tables"]:
            problems[name] = found
    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())
