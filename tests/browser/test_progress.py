from playwright.sync_api import Page, expect

from stocktrace.webhooks.services import subscription_create
from tests.browser.conftest import login
from tests.test_jobs import run_worker


def test_admin_follows_the_progress_of_a_resync(page: Page, live_server, world):
    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["site.updated"])
    login(page, live_server, world.alpha.user("admin").email)
    page.goto(f"{live_server.url}/sites/")
    page.get_by_role("button", name="Send all sites to integrations").click()
    box = page.locator("[data-testid=resync-progress]")
    expect(box).to_contain_text("Waiting for a worker")
    run_worker(max_tasks=1)
    expect(box).to_have_attribute("data-status", "SUCCESSFUL", timeout=10_000)
    expect(box).to_contain_text("Done: 2 of 2 sites sent")
    assert box.locator("progress").evaluate("p => [p.value, p.max]") == [2, 2]
