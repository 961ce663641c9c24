from playwright.sync_api import Page, expect

from stocktrace.imports.models import ImportRun
from tests.browser.conftest import login, shot
from tests.factories import stocked
from tests.job_fixtures import run_worker

HEADER = b"site_code,location_code,sku,quantity,lot,expires_on,unit_cost\n"


def _upload(page: Page, live_server, content: bytes, *, check_only: bool = True) -> None:
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("What the file holds").select_option("stock")
    page.locator("#id_file").set_input_files(files=[{"name": "opening.csv", "mimeType": "text/csv",
                                                     "buffer": content}])
    page.get_by_label("Check only (nothing is written)").set_checked(check_only)
    page.get_by_role("button", name="Upload").click()


def test_admin_fixes_a_bad_row_checks_again_and_applies_opening_stock(page: Page, live_server, world):
    stocked(world.alpha)  # ALPHA-SKU-1, 10 at A-01
    login(page, live_server, world.alpha.user("admin").email)
    page.get_by_role("link", name="Import/export").click()
    expect(page.get_by_role("heading", name="Import and export")).to_be_visible()

    _upload(page, live_server, HEADER + b"ALPHA-1,A-01,ALPHA-SKU-1,5,,,\nALPHA-1,A-01,ALPHA-SKU-9,2,,,\n")
    progress = page.locator("[data-testid=import-progress]")
    expect(progress).to_contain_text("Waiting for a worker")
    run_worker(max_tasks=1)
    # The page follows the job and shows the result when it is done.
    errors = page.locator("[data-testid=import-errors]")
    expect(errors).to_contain_text("unknown SKU ALPHA-SKU-9")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr td").nth(0)).to_have_text("3")
    expect(errors.locator("tbody tr td").nth(1)).to_have_text("sku")
    expect(page.locator("[data-testid=import-status]")).to_have_text("invalid")
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)
    shot(page, "import-errors")

    _upload(page, live_server, HEADER + b"ALPHA-1,A-01,ALPHA-SKU-1,5,,,\nALPHA-1,A-01,ALPHA-SKU-1,2.5,,,\n")
    run_worker(max_tasks=1)
    expect(page.locator("[data-testid=import-summary]")).to_have_text("Checked 2 rows: no errors; ready to apply")
    assert ImportRun.objects.latest("pk").status == "valid"
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[role=status]")).to_contain_text("Applying opening.csv")
    run_worker(max_tasks=1)
    expect(page.locator("[data-testid=import-status]")).to_have_text("applied")
    expect(page.locator("[data-testid=import-result]")).to_contain_text("2 receipts")
    shot(page, "import-applied")

    page.goto(f"{live_server.url}/stock/")
    expect(page.locator("[data-testid=stock]")).to_contain_text("ALPHA-SKU-1")
    expect(page.locator("[data-testid=stock] [data-testid=quantity]").first).to_contain_text("17.5")
