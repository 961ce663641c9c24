"""A supervisor's day at the bins in real Chromium: receive, transfer and adjust by typing barcodes as a
scanner does (code, Enter), then read the stock page and the item's history; and the posting forms on a phone."""

import pytest
from playwright.sync_api import Page, expect

from stocktrace.audit.models import AuditEvent
from stocktrace.inventory.models import OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import item_create, location_create
from tests.browser.conftest import login, shot

EAN = "5901234123457"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}


@pytest.fixture
def bins(world):
    admin = world.alpha.actor()
    site = world.alpha.sites[0]
    item = item_create(actor=admin, sku="BOLT-M8", name="Hex bolt M8", unit_cost="0.12", min_level="12",
                       barcodes=[EAN])
    return item, location_create(actor=admin, site=site, code="R-01"), location_create(actor=admin, site=site,
                                                                                       code="R-02")


def scan(page: Page, field: str, code: str) -> None:
    """What a keyboard-wedge scanner does: type into the focused field, then Enter."""
    expect(page.locator(f"#id_{field}")).to_be_focused()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_supervisor_receives_transfers_and_adjusts_by_scanning(page: Page, live_server, world, bins):
    item, r01, r02 = bins
    supervisor = world.alpha.user("supervisor")
    login(page, live_server, supervisor.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Stock").click()
    page.get_by_role("link", name="Receive").click()
    expect(page.get_by_role("heading", name="Receive stock")).to_be_visible()
    scan(page, "location", r01.barcode)
    scan(page, "item", EAN)  # Enter after a scan moves on; it does not post a half-filled form
    expect(page.locator("#id_quantity")).to_be_focused()
    assert StockMovement.objects.count() == 0
    page.keyboard.type("12")
    shot(page, "inventory-receive-filled")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Received 12 ea of BOLT-M8 into R-01. On hand now: 12 ea at R-01.")
    expect(page.locator("#id_location")).to_be_focused()  # ready for the next scan
    expect(page.locator("#id_location")).to_have_value("")
    shot(page, "inventory-received")

    page.get_by_role("navigation", name="Stock postings").get_by_role("link", name="Transfer").click()
    scan(page, "from_location", r01.barcode)
    scan(page, "item", EAN)
    scan(page, "to_location", r02.barcode)
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Moved 5 ea of BOLT-M8 from R-01 to R-02. On hand now: 7 ea at R-01, 5 ea at R-02.")

    page.get_by_role("navigation", name="Stock postings").get_by_role("link", name="Adjust").click()
    scan(page, "location", r01.barcode)
    scan(page, "item", EAN)
    expect(page.locator("#id_quantity")).to_be_focused()
    page.keyboard.type("1")
    page.get_by_text("Remove", exact=True).click()
    page.get_by_role("button", name="damaged").click()
    expect(page.locator("#id_reason")).to_have_value("damaged")
    shot(page, "inventory-adjust-filled")
    page.get_by_role("button", name="Adjust", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "Adjusted BOLT-M8 at R-01 by -1 ea (damaged). On hand now: 6 ea at R-01.")

    # A refusal is shown on the form, and changes nothing.
    scan(page, "location", r02.barcode)
    scan(page, "item", EAN)
    page.keyboard.type("9")
    page.get_by_role("button", name="lost").click()
    page.get_by_role("button", name="Adjust", exact=True).click()
    expect(page.locator(".errorlist")).to_have_text("Only 5 ea of BOLT-M8 at R-02; this would leave -4")
    expect(page.locator("#id_quantity")).to_be_focused()
    shot(page, "inventory-adjust-refused")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Stock").click()
    table = page.locator("[data-testid=stock]")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tr[data-location='R-01'] [data-testid=quantity]")).to_have_text("6 ea")
    expect(table.locator("tr[data-location='R-02'] [data-testid=quantity]")).to_have_text("5 ea")
    shot(page, "inventory-stock")
    page.locator("summary", has_text="Filter").click()
    page.locator("#id_item").fill(EAN)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-testid=total]")).to_have_text("11 ea")

    page.get_by_role("link", name="Movement history of BOLT-M8").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BOLT-M8")
    history = page.locator("[data-testid=history] tbody tr")
    expect(history).to_have_count(4)  # the transfer is two ledger lines: out of R-01, into R-02
    assert [row.get_attribute("data-kind") for row in history.all()] == [
        "adjustment", "transfer_in", "transfer_out", "receipt"]
    expect(history.nth(0)).to_contain_text("damaged")
    expect(history.locator("[data-testid=movement-quantity]")).to_have_text(["-1", "+5", "-5", "+12"])
    expect(page.locator("[data-testid=on-hand-total]")).to_have_text("11 ea")
    shot(page, "inventory-item-history")

    assert {(row.location.code, row.quantity) for row in OnHand.objects.select_related("location")} == {
        ("R-01", 6), ("R-02", 5)}
    assert list(StockMovement.objects.order_by("pk").values_list("kind", "quantity", "location__code", "reason",
                                                                 "actor")) == [
        ("receipt", 12, "R-01", "", supervisor.pk), ("transfer_out", -5, "R-01", "", supervisor.pk),
        ("transfer_in", 5, "R-02", "", supervisor.pk), ("adjustment", -1, "R-01", "damaged", supervisor.pk)]
    assert ledger_drift() == []

    # The adjustment took the site below the item's minimum of 12: an alert, which the supervisor acknowledges.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    alert = StockAlert.objects.get()
    row = page.locator(f"tr[data-alert='{alert.pk}']")
    expect(row).to_contain_text("BOLT-M8 is low: 11 ea, minimum 12")
    shot(page, "inventory-alerts")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledged")
    expect(row.locator("[data-testid=alert-status]")).to_have_text("acknowledged")
    alert.refresh_from_db()
    assert (alert.kind, alert.status, alert.acknowledged_by) == ("low_stock", "acknowledged", supervisor)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Locations").click()
    expect(page.locator("[data-testid=tree] tbody tr")).to_have_count(2)
    shot(page, "inventory-locations")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Items").click()
    expect(page.locator("[data-testid=items] tr[data-sku='BOLT-M8']")).to_contain_text(EAN)
    shot(page, "inventory-items")
    assert list(AuditEvent.objects.filter(actor=supervisor).order_by("pk").values_list("action", flat=True)) == [
        "stock.receipt", "stock.transfer", "stock.adjustment", "alert.acknowledge"]


def test_posting_forms_fit_a_gloved_thumb_on_a_phone(new_context, live_server, world, bins):
    phone = new_context(**PHONE).new_page()
    phone.set_default_timeout(10_000)
    login(phone, live_server, world.alpha.user("supervisor").email)

    def assert_fits() -> None:
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{phone.url} scrolls sideways by {overflow}px on a phone"

    for path, name, button in [("receive", "receive", "Receive"), ("adjust", "adjust", "Adjust"),
                               ("transfer", "transfer", "Transfer"), ("issue", "issue", "Issue")]:
        phone.goto(f"{live_server.url}/stock/{path}/")
        form = phone.locator("form[data-scan-form]")
        first_scan = form.locator("input[data-scan]").first
        expect(first_scan).to_be_focused()
        box = first_scan.bounding_box()
        assert box["y"] + box["height"] <= 844 / 2, (path, box)  # in the top half of the first screen, unscrolled
        fields = form.locator("input:not([type=hidden]):not([type=radio])")
        assert fields.count() >= 5
        for field in fields.all():
            field.scroll_into_view_if_needed()
            box = field.bounding_box()
            assert box["height"] >= 44, (path, field.get_attribute("name"), box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, field.get_attribute("name"), box)
        for tappable in [form.get_by_role("button", name=button, exact=True), *form.locator("label.choice").all(),
                         *form.locator("button.chip").all()]:
            tappable.scroll_into_view_if_needed()
            box = tappable.bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44, (path, tappable.inner_text(), box)
        assert phone.locator("#id_quantity").get_attribute("inputmode") == "decimal"
        assert_fits()
        phone.evaluate("window.scrollTo(0, 0)")
        shot(phone, f"phone-inventory-{name}")

    for name, path in [("stock", "/stock/"), ("items", "/items/"), ("locations", "/locations/"),
                       ("alerts", "/alerts/"), ("item", f"/items/{bins[0].pk}/"),
                       ("location", f"/locations/{bins[1].pk}/")]:
        phone.goto(f"{live_server.url}{path}")
        assert_fits()
        shot(phone, f"phone-inventory-{name}")
