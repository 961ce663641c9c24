from playwright.sync_api import Page, expect

from stocktrace.webhooks.services import subscription_create
from tests.browser.conftest import login
from tests.job_fixtures import run_worker


def test_admin_follows_the_progress_of_a_resync(page: Page, live_server, world):
    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["site.updated"])
    login(page, live_server, world.alpha.user("admin").email)
    page.goto(f"{live_server.url}/webhooks/")
    page.get_by_role("button", name="Send all sites to integrations").click()
    box = page.locator("[data-testid=resync-progress]")
    expect(box).to_contain_text("Waiting for a worker")
    run_worker(max_tasks=1)
    expect(box).to_have_attribute("data-status", "SUCCESSFUL", timeout=10_000)
    expect(box).to_contain_text("Done: 2 of 2 sites sent")
    assert box.locator("progress").evaluate("p => [p.value, p.max]") == [2, 2]


def test_supervisor_rechecks_the_alerts_and_follows_the_job(page: Page, live_server, world):
    from stocktrace.inventory.services.catalog import item_create, item_update, location_create
    from stocktrace.inventory.services.ledger import stock_receive

    actor = world.alpha.actor()
    location = location_create(actor=actor, site=world.alpha.sites[0], code="A-1")
    bolts = item_create(actor=actor, sku="BOLT", name="Bolts")
    stock_receive(actor=actor, item=bolts, location=location, quantity_received="3")
    item_update(actor=actor, item=bolts, min_level="5")  # a new minimum: no alert until a movement or a recheck
    login(page, live_server, world.alpha.user("supervisor").email)
    page.goto(f"{live_server.url}/alerts/")
    expect(page.get_by_test_id("alerts")).to_contain_text("No alerts")
    page.get_by_role("button", name="Recheck all alerts").click()
    box = page.locator("[data-testid=recheck-progress]")
    expect(box).to_contain_text("Waiting for a worker")
    run_worker(max_tasks=1)
    expect(box).to_have_attribute("data-status", "SUCCESSFUL", timeout=10_000)
    expect(box).to_contain_text("done: 1 open alerts (were 0)")
    page.goto(f"{live_server.url}/alerts/")
    expect(page.get_by_test_id("alerts")).to_contain_text("BOLT is low: 3 ea, minimum 5")
