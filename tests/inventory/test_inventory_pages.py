"""Inventory pages: postings by scanned codes go through the ledger (on-hand, a ledger line, an audit row);
refused postings change nothing; people see their sites only; stock, item, location and alert pages."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stocktrace.audit.models import AuditEvent
from stocktrace.inventory.models import Item, ItemBarcode, Location, OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import item_archive, item_create, location_create
from stocktrace.inventory.services.ledger import stock_issue, stock_receive
from stocktrace.inventory.views import stock as stock_views
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state
from tests.factories import stocked
from tests.inventory.cases import _alert, _empty_location, _item

BARCODE = "4006381333931"  # the alpha item's EAN-13 (tests.factories.stocked)
A01 = "ALPHA-1-A-01"  # the bin it lies in, 10 units, in alpha's first site
B01 = "ALPHA-1-B-01"  # an empty bin of the same site


@pytest.fixture
def shelf(world):
    """The alpha item with 10 in A-01, and an empty B-01 next to it; (item, a01, b01)."""
    item, a01 = stocked(world.alpha)
    b01 = location_create(actor=world.alpha.actor(), site=a01.site, code="B-01")
    return item, a01, b01


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _on_hand() -> dict:
    return {(row.location.code, row.lot): row.quantity for row in OnHand.objects.select_related("location")}


def _new_movements(after_pk: int) -> list[tuple]:
    return list(StockMovement.objects.filter(pk__gt=after_pk).order_by("pk").values_list(
        "kind", "quantity", "location__code", "lot", "reason", "reference", "actor__email"))


POSTINGS = [
    pytest.param(
        Role.DISPATCHER, "/stock/receive/",
        {"location": A01, "item": BARCODE, "quantity": "2.5", "unit_cost": "3.25", "reference": "PO-9"},
        [("receipt", Decimal("2.5"), "A-01", "", "", "PO-9")], {("A-01", ""): Decimal("12.5")}, "stock.receipt",
        "Received 2.5 ea of ALPHA-SKU-1 into A-01. On hand now: 12.5 ea at A-01.", id="receive"),
    pytest.param(
        Role.DISPATCHER, "/stock/issue/",
        {"location": A01, "item": "ALPHA-SKU-1", "quantity": "3", "reference": "JOB-4"},
        [("issue", Decimal("-3"), "A-01", "", "", "JOB-4")], {("A-01", ""): Decimal("7")}, "stock.issue",
        "Issued 3 ea of ALPHA-SKU-1 from A-01. On hand now: 7 ea at A-01.", id="issue-by-typed-sku"),
    pytest.param(
        Role.SUPERVISOR, "/stock/adjust/",
        {"location": A01, "item": BARCODE, "direction": "remove", "quantity": "1", "reason": "damaged"},
        [("adjustment", Decimal("-1"), "A-01", "", "damaged", "")], {("A-01", ""): Decimal("9")},
        "stock.adjustment", "Adjusted ALPHA-SKU-1 at A-01 by -1 ea (damaged). On hand now: 9 ea at A-01.",
        id="adjust-remove"),
    pytest.param(
        Role.ADMIN, "/stock/adjust/",
        {"location": A01, "item": BARCODE, "direction": "add", "quantity": "0,125", "reason": "found"},
        [("adjustment", Decimal("0.125"), "A-01", "", "found", "")], {("A-01", ""): Decimal("10.125")},
        "stock.adjustment", "Adjusted ALPHA-SKU-1 at A-01 by +0.125 ea (found). On hand now: 10.125 ea at A-01.",
        id="adjust-add-with-decimal-comma"),
    pytest.param(
        Role.DISPATCHER, "/stock/transfer/",
        {"from_location": A01, "item": BARCODE, "to_location": " ALPHA-1-B-01 ", "quantity": "4",
         "reason": "replenish"},
        [("transfer_out", Decimal("-4"), "A-01", "", "replenish", ""),
         ("transfer_in", Decimal("4"), "B-01", "", "replenish", "")],
        {("A-01", ""): Decimal("6"), ("B-01", ""): Decimal("4")}, "stock.transfer",
        "Moved 4 ea of ALPHA-SKU-1 from A-01 to B-01. On hand now: 6 ea at A-01, 4 ea at B-01.", id="transfer"),
]


def test_a_transfer_to_another_site_names_the_sites(world, client_as, shelf):
    """Bin codes repeat across sites: "from A-01 to A-01" would say nothing."""
    other = location_create(actor=world.alpha.actor(), site=world.alpha.sites[1], code="A-01")
    response = client_as(world.alpha, Role.ADMIN).post("/stock/transfer/", {
        "from_location": A01, "item": BARCODE, "to_location": other.barcode, "quantity": "4"}, follow=True)
    site, other_site = shelf[1].site.code, other.site.code
    assert _messages(response) == [f"Moved 4 ea of ALPHA-SKU-1 from A-01 ({site}) to A-01 ({other_site}). On hand "
                                   f"now: 6 ea at A-01 ({site}), 4 ea at A-01 ({other_site})."]


@pytest.mark.parametrize(("role", "path", "data", "lines", "on_hand", "action", "message"), POSTINGS)
def test_posting_by_scanned_codes_goes_through_the_ledger(world, client_as, shelf, role, path, data, lines,
                                                          on_hand, action, message):
    last_movement = StockMovement.objects.order_by("pk").last().pk
    last_event = AuditEvent.objects.order_by("pk").last().pk
    user = world.alpha.user(role)
    response = client_as(world.alpha, role).post(path, data, follow=True)

    assert response.redirect_chain == [(path, 302)]
    assert _messages(response) == [message]
    assert _new_movements(last_movement) == [(*line, user.email) for line in lines]
    assert _on_hand() == {("A-01", ""): Decimal("10"), **on_hand}
    events = AuditEvent.objects.filter(pk__gt=last_event)
    assert list(events.values_list("action", "actor", "organization")) == [
        (action, user.pk, world.alpha.organization.pk)]
    assert events.get().after["lines"][0]["item"] == "ALPHA-SKU-1"
    if len(lines) == 2:
        assert StockMovement.objects.filter(pk__gt=last_movement).values("group").distinct().count() == 1
    assert ledger_drift() == []
    # The next scan starts on an empty form with the first field focused.
    assert response.context["form"].is_bound is False
    first = next(iter(response.context["form"].fields.values()))
    assert first.widget.attrs.get("autofocus") is True


def test_a_receipt_takes_the_typed_unit_cost_lot_and_expiry(world, client_as):
    admin = world.alpha.actor()
    site = world.alpha.sites[0]
    bin_ = location_create(actor=admin, site=site, code="COLD-1")
    item_create(actor=admin, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True, barcodes=["96385074"])
    response = client_as(world.alpha, Role.SUPERVISOR).post("/stock/receive/", {
        "location": bin_.barcode, "item": "96385074", "quantity": "24", "lot": "L-7", "expires_on": "2031-03-01",
        "unit_cost": "0.8125"}, follow=True)
    assert _messages(response) == ["Received 24 ea of MILK into COLD-1. On hand now: 24 ea at COLD-1 in lot L-7."]
    movement = StockMovement.objects.get(item__sku="MILK")
    assert (movement.lot, str(movement.expires_on), movement.unit_cost, movement.quantity) == (
        "L-7", "2031-03-01", Decimal("0.8125"), Decimal("24"))
    assert OnHand.objects.get(item__sku="MILK").expires_on.isoformat() == "2031-03-01"


@pytest.fixture
def refusals(world, shelf):
    """Objects the refused postings point at, made before the snapshot."""
    admin = world.alpha.actor()
    stocked(world.bravo)
    location_create(actor=admin, site=world.alpha.sites[1], code="C-01")
    item_create(actor=admin, sku="LOT-1", name="Lotted", tracks_lots=True)
    item_archive(actor=admin, item=item_create(actor=admin, sku="OLD-1", name="Old"))
    return shelf


REFUSED = [
    ("negative stock", Role.DISPATCHER, "/stock/issue/", {"location": A01, "item": BARCODE, "quantity": "11"},
     "quantity", "Only 10 ea of ALPHA-SKU-1 at A-01; this would leave -1"),
    ("negative stock by transfer", Role.SUPERVISOR, "/stock/transfer/",
     {"from_location": A01, "item": BARCODE, "to_location": B01, "quantity": "10.001"},
     "quantity", "Only 10 ea of ALPHA-SKU-1 at A-01; this would leave -0.001"),
    ("negative stock by adjustment", Role.SUPERVISOR, "/stock/adjust/",
     {"location": A01, "item": BARCODE, "direction": "remove", "quantity": "12", "reason": "lost"},
     "quantity", "Only 10 ea of ALPHA-SKU-1 at A-01; this would leave -2"),
    ("more than 3 decimals", Role.DISPATCHER, "/stock/receive/",
     {"location": A01, "item": BARCODE, "quantity": "1.2345"},
     "quantity", "1.2345 has more than 3 decimal places"),
    ("more than 3 decimals in an adjustment", Role.ADMIN, "/stock/adjust/",
     {"location": A01, "item": BARCODE, "direction": "add", "quantity": "0.0001", "reason": "found"},
     "quantity", "0.0001 has more than 3 decimal places"),
    ("zero", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": BARCODE, "quantity": "0"},
     "quantity", "The quantity cannot be zero"),
    ("not a number", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": BARCODE, "quantity": "1e3x"},
     "quantity", "'1e3x' is not a number; type e.g. 12 or 0.5."),
    ("exponent", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": BARCODE, "quantity": "1e3"},
     "quantity", "'1e3' is not a number; type e.g. 12 or 0.5."),
    ("a negative unit cost", Role.DISPATCHER, "/stock/receive/",
     {"location": A01, "item": BARCODE, "quantity": "1", "unit_cost": "-0.5"},
     "unit_cost", "Type the unit cost without a minus sign."),
    ("infinity", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": BARCODE, "quantity": "Infinity"},
     "quantity", "'Infinity' is not a number; type e.g. 12 or 0.5."),
    ("thousands or decimal", Role.DISPATCHER, "/stock/receive/",
     {"location": A01, "item": BARCODE, "quantity": "1,000"},
     "quantity", "Is 1,000 a decimal or thousands? Type it with a point, e.g. 1000 or 1.5."),
    ("a minus sign", Role.DISPATCHER, "/stock/issue/", {"location": A01, "item": BARCODE, "quantity": "-2"},
     "quantity", "Type the quantity without a minus sign."),
    ("unknown item barcode", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": "0000000000000",
                                                                  "quantity": "1"},
     "item", "No item with barcode or SKU '0000000000000'"),
    ("a GTIN with a wrong check digit", Role.DISPATCHER, "/stock/receive/",
     {"location": A01, "item": "2000000000016", "quantity": "1"}, "item",
     "No item with barcode or SKU '2000000000016'; 2000000000016 has a wrong check digit for a GTIN (expected 5): "
     "was it mistyped or misread?"),
    ("unknown location barcode", Role.DISPATCHER, "/stock/receive/", {"location": "NOPE-9", "item": BARCODE,
                                                                      "quantity": "1"},
     "location", "No location with barcode or code 'NOPE-9'"),
    ("another tenant's location barcode", Role.ADMIN, "/stock/receive/",
     {"location": "BRAVO-1-A-01", "item": BARCODE, "quantity": "1"},
     "location", "No location with barcode or code 'BRAVO-1-A-01'"),
    ("another tenant's item barcode", Role.ADMIN, "/stock/receive/", {"location": A01, "item": "96385074",
                                                                      "quantity": "1"},
     "item", "No item with barcode or SKU '96385074'"),
    ("another tenant's bin as the destination", Role.ADMIN, "/stock/transfer/",
     {"from_location": A01, "item": BARCODE, "to_location": "BRAVO-1-A-01", "quantity": "1"},
     "to_location", "No location with barcode or code 'BRAVO-1-A-01'"),
    ("a site not assigned", Role.DISPATCHER, "/stock/receive/", {"location": "ALPHA-2-C-01", "item": BARCODE,
                                                                 "quantity": "1"},
     "location", "No location with barcode or code 'ALPHA-2-C-01'"),
    ("lot required", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": "LOT-1", "quantity": "1"},
     "lot", "LOT-1 is lot-tracked: give the lot"),
    ("a lot for an item without lots", Role.DISPATCHER, "/stock/issue/",
     {"location": A01, "item": BARCODE, "quantity": "1", "lot": "X"}, "lot",
     "ALPHA-SKU-1 is not lot-tracked: leave the lot empty"),
    ("archived item", Role.DISPATCHER, "/stock/receive/", {"location": A01, "item": "OLD-1", "quantity": "1"},
     None, "Item OLD-1 is archived"),
    ("reason missing", Role.SUPERVISOR, "/stock/adjust/",
     {"location": A01, "item": BARCODE, "direction": "remove", "quantity": "1", "reason": "  "},
     "reason", "This field is required."),
    ("no direction", Role.SUPERVISOR, "/stock/adjust/",
     {"location": A01, "item": BARCODE, "direction": "sideways", "quantity": "1", "reason": "lost"},
     "direction", "Select a valid choice. sideways is not one of the available choices."),
    ("same source and destination", Role.DISPATCHER, "/stock/transfer/",
     {"from_location": A01, "item": BARCODE, "to_location": A01, "quantity": "1"},
     "to_location", "Source and destination are the same location"),
    ("nothing scanned", Role.DISPATCHER, "/stock/receive/", {"quantity": "1"}, "location", "This field is required."),
]


@pytest.mark.parametrize(("case", "role", "path", "data", "field", "error"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_refused_posting_changes_nothing(world, client_as, refusals, case, role, path, data, field, error):
    client = client_as(world.alpha, role)
    before = database_state()
    response = client.post(path, data)
    assert response.status_code == 422
    form = response.context["form"]
    assert error in form.errors[field or "__all__"], form.errors
    assert error.replace("'", "&#x27;") in response.content.decode()
    assert database_state() == before
    # Focus lands on the field to scan or type again.
    focused = [name for name, f in form.fields.items() if f.widget.attrs.get("autofocus")]
    assert focused == [field or next(iter(form.fields))]


@pytest.mark.parametrize(("role", "path", "data"), [
    (Role.COUNTER, "/stock/receive/", {"location": A01, "item": BARCODE, "quantity": "1"}),
    (Role.VIEWER, "/stock/issue/", {"location": A01, "item": BARCODE, "quantity": "1"}),
    (Role.BILLER, "/stock/transfer/", {"from_location": A01, "item": BARCODE, "to_location": B01, "quantity": "1"}),
    (Role.DISPATCHER, "/stock/adjust/", {"location": A01, "item": BARCODE, "direction": "remove", "quantity": "1",
                                         "reason": "damaged"}),
])
def test_roles_without_the_permission_get_403_and_change_nothing(world, client_as, shelf, role, path, data):
    client = client_as(world.alpha, role)
    before = database_state()
    response = client.post(path, data)
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    assert database_state() == before
    assert client.get(path).status_code == 403


@pytest.mark.parametrize(("role", "opens"), [
    (Role.ADMIN, ["Receive", "Issue", "Adjust", "Transfer"]),
    (Role.SUPERVISOR, ["Receive", "Issue", "Adjust", "Transfer"]),
    (Role.DISPATCHER, ["Receive", "Issue", "Transfer"]), (Role.COUNTER, []), (Role.BILLER, []), (Role.VIEWER, []),
])
def test_stock_page_offers_the_postings_the_role_may_make(world, client_as, role, opens):
    html = client_as(world.alpha, role).get("/stock/").content.decode()
    offered = [label for label in ("Receive", "Issue", "Adjust", "Transfer") if f'">{label}</a>' in html]
    assert offered == opens


def test_posting_forms_are_built_for_scanners(world, client_as):
    client = client_as(world.alpha, Role.SUPERVISOR)
    for path, first in [("/stock/receive/", "location"), ("/stock/issue/", "location"),
                        ("/stock/adjust/", "location"), ("/stock/transfer/", "from_location")]:
        response = client.get(path)
        html = response.content.decode()
        form = response.context["form"]
        assert next(iter(form.fields)) == first
        assert [n for n, f in form.fields.items() if f.widget.attrs.get("autofocus")] == [first]
        assert "<select" not in html.split("<main>")[1], path  # codes are scanned, not picked from thousands
        assert f'name="{first}"' in html and 'inputmode="decimal"' in html and "data-scan" in html
    adjust = client.get("/stock/adjust/").content.decode()
    for reason in ("damaged", "lost", "found", "expired", "correction"):
        assert f'data-reason="{reason}"' in adjust and f'<option value="{reason}">' in adjust


# Stock on hand --------------------------------------------------------------------------------------------

@pytest.fixture
def two_sites(world, shelf):
    """10 in A-01 (site 1, everyone's) and 7 in C-01 (site 2, admins only)."""
    item, a01, b01 = shelf
    admin = world.alpha.actor()
    c01 = location_create(actor=admin, site=world.alpha.sites[1], code="C-01")
    stock_receive(actor=admin, item=item, location=c01, quantity_received="7")
    return item, a01, b01, c01


def _rows(response) -> list[tuple]:
    return [(r.site.code, r.location.code, r.item.sku, r.quantity) for r in response.context["page"]["items"]]


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.DISPATCHER, Role.COUNTER, Role.BILLER, Role.VIEWER])
def test_non_admins_see_only_their_sites_stock(world, client_as, two_sites, role):
    item, a01, b01, c01 = two_sites
    client = client_as(world.alpha, role)
    response = client.get("/stock/")
    assert _rows(response) == [("ALPHA-1", "A-01", "ALPHA-SKU-1", Decimal("10"))]
    assert "C-01" not in response.content.decode()
    by_item = client.get("/stock/", {"item": BARCODE})
    assert by_item.context["totals"] == {"total": Decimal("10"), "sites": [{"site__code": "ALPHA-1",
                                                                              "total": Decimal("10")}]}
    # Another site's filter, location or page is refused, not shown.
    other_site = client.get("/stock/", {"site": world.alpha.sites[1].pk})
    assert other_site.context["form"].errors == {
        "site": ["Select a valid choice. That choice is not one of the available choices."]}
    assert _rows(other_site) == []
    other_bin = client.get("/stock/", {"location": c01.barcode})
    assert other_bin.context["form"].errors == {"location": ["No location with barcode or code 'ALPHA-2-C-01'"]}
    assert _rows(other_bin) == []
    assert client.get(f"/locations/{c01.pk}/").status_code == 404
    # The item page: on-hand and history of their sites only.
    page = client.get(f"/items/{item.pk}/")
    assert [r.location.code for r in page.context["on_hand"]] == ["A-01"]
    assert page.context["on_hand_total"] == Decimal("10")
    assert 'data-testid="on-hand-scope">at your site ALPHA-1</span>' in page.content.decode()
    assert [m.location.code for m in page.context["history"]["items"]] == ["A-01"]


def test_admins_see_every_site_and_totals_per_item(world, client_as, two_sites):
    item, a01, b01, c01 = two_sites
    client = client_as(world.alpha, Role.ADMIN)
    assert _rows(client.get("/stock/")) == [("ALPHA-1", "A-01", "ALPHA-SKU-1", Decimal("10")),
                                            ("ALPHA-2", "C-01", "ALPHA-SKU-1", Decimal("7"))]
    by_item = client.get("/stock/", {"item": "ALPHA-SKU-1"})
    assert by_item.context["totals"] == {"total": Decimal("17"), "sites": [
        {"site__code": "ALPHA-1", "total": Decimal("10")}, {"site__code": "ALPHA-2", "total": Decimal("7")}]}
    assert '<strong data-testid="total">17 ea</strong>' in by_item.content.decode()
    in_site = client.get("/stock/", {"item": BARCODE, "site": world.alpha.sites[1].pk})
    assert _rows(in_site) == [("ALPHA-2", "C-01", "ALPHA-SKU-1", Decimal("7"))]
    assert in_site.context["totals"]["total"] == Decimal("7")
    # Without an item filter there is no total (it would add apples and pears).
    assert client.get("/stock/").context["totals"] is None
    assert 'data-testid="on-hand-scope"' not in client.get(f"/items/{item.pk}/").content.decode()  # every site


def test_stock_filters(world, client_as, two_sites):
    item, a01, b01, c01 = two_sites
    admin = world.alpha.actor()
    client = client_as(world.alpha, Role.ADMIN)
    # A location by its barcode or its code, with what lies under it.
    zone = location_create(actor=admin, site=world.alpha.sites[0], code="Z")
    inner = location_create(actor=admin, site=world.alpha.sites[0], code="Z-1", parent=zone)
    stock_receive(actor=admin, item=item, location=inner, quantity_received="2")
    assert _rows(client.get("/stock/", {"location": "A-01"})) == [("ALPHA-1", "A-01", "ALPHA-SKU-1", Decimal("10"))]
    assert _rows(client.get("/stock/", {"location": zone.barcode})) == [
        ("ALPHA-1", "Z-1", "ALPHA-SKU-1", Decimal("2"))]
    # A code that two sites use needs the site (or the barcode).
    location_create(actor=admin, site=world.alpha.sites[1], code="A-01")
    ambiguous = client.get("/stock/", {"location": "A-01"})
    assert ambiguous.context["form"].errors == {
        "location": ["Code A-01 exists in several sites: scan the barcode or choose the site"]}
    assert _rows(client.get("/stock/", {"location": "A-01", "site": world.alpha.sites[0].pk})) == [
        ("ALPHA-1", "A-01", "ALPHA-SKU-1", Decimal("10"))]
    # Unknown codes are errors on the filter, and show nothing.
    unknown = client.get("/stock/", {"item": "nope"})
    assert unknown.context["form"].errors == {"item": ["No item with barcode or SKU 'nope'"]}
    assert _rows(unknown) == [] and "Correct the filter above." in unknown.content.decode()
    # Zero rows only on request; lots filter.
    stock_issue(actor=admin, item=item, location=c01, quantity_issued="7")
    assert ("ALPHA-2", "C-01", "ALPHA-SKU-1", Decimal("0")) not in _rows(client.get("/stock/"))
    assert ("ALPHA-2", "C-01", "ALPHA-SKU-1", Decimal("0")) in _rows(client.get("/stock/", {"zero": "on"}))
    lotted = item_create(actor=admin, sku="LOT-1", name="Lotted", tracks_lots=True)
    stock_receive(actor=admin, item=lotted, location=a01, quantity_received="3", lot="L1")
    stock_receive(actor=admin, item=lotted, location=a01, quantity_received="4", lot="L2")
    assert [(r.lot, r.quantity) for r in client.get("/stock/", {"lot": "L2"}).context["page"]["items"]] == [
        ("L2", Decimal("4"))]


def test_stock_pages_by_keyset_with_a_fixed_number_of_queries(world, client_as, shelf):
    item, a01, b01 = shelf
    site = a01.site
    org = world.alpha.organization
    Location.objects.bulk_create([Location(organization=org, site=site, code=f"P-{n:03}", barcode=f"P-{n:03}",
                                           path="/") for n in range(105)])
    OnHand.objects.bulk_create([OnHand(organization=org, item=item, location=loc, site=site, quantity=n + 1)
                                for n, loc in enumerate(Location.objects.filter(code__startswith="P-"))])
    client = client_as(world.alpha, Role.SUPERVISOR)
    with CaptureQueriesContext(connection) as full:
        first = client.get("/stock/")
    assert len(first.context["page"]["items"]) == 100
    cursor = first.context["page"]["next_cursor"]
    assert f'href="?cursor={cursor}">Next</a>' in first.content.decode()
    with CaptureQueriesContext(connection) as short:
        second = client.get("/stock/", {"cursor": cursor})
    assert len(second.context["page"]["items"]) == 6 and second.context["page"]["next_cursor"] is None
    assert len(full.captured_queries) == len(short.captured_queries), "a query per row"
    shown = [r.pk for r in first.context["page"]["items"]] + [r.pk for r in second.context["page"]["items"]]
    assert shown == sorted(OnHand.objects.values_list("pk", flat=True)) and len(shown) == 106
    # Filters are kept on the next page; a mangled cursor starts again.
    filtered = client.get("/stock/", {"item": BARCODE, "zero": "on"})
    assert f'href="?item={BARCODE}&amp;zero=on&amp;cursor=' in filtered.content.decode()
    assert client.get("/stock/", {"cursor": "!!"}).context["page"]["items"][0].pk == shown[0]


# Items and their history ----------------------------------------------------------------------------------

def test_item_history_newest_first_by_keyset(world, client_as, shelf):
    item, a01, b01 = shelf
    client = client_as(world.alpha, Role.SUPERVISOR)
    client.post("/stock/transfer/", {"from_location": A01, "item": BARCODE, "to_location": B01, "quantity": "4"})
    client.post("/stock/adjust/", {"location": B01, "item": BARCODE, "direction": "remove", "quantity": "1",
                                   "reason": "damaged"})
    page = client.get(f"/items/{item.pk}/")
    assert [(m.kind, m.quantity, m.location.code) for m in page.context["history"]["items"]] == [
        ("adjustment", Decimal("-1"), "B-01"), ("transfer_in", Decimal("4"), "B-01"),
        ("transfer_out", Decimal("-4"), "A-01"), ("receipt", Decimal("10"), "A-01")]
    html = page.content.decode()
    assert html.index('data-kind="adjustment"') < html.index('data-kind="receipt"')
    assert '<strong data-testid="on-hand-total">9 ea</strong>' in html
    assert [(r.location.code, r.quantity) for r in page.context["on_hand"]] == [("A-01", Decimal("6")),
                                                                                  ("B-01", Decimal("3"))]
    # 150 more lines: 100 a page, newest first, the cursor walks back to the first receipt.
    StockMovement.objects.bulk_create([
        StockMovement(organization=world.alpha.organization, item=item, location=a01, site=a01.site,
                      kind="receipt", quantity=1, reference=f"bulk-{n}") for n in range(150)])
    everything = list(StockMovement.objects.filter(item=item).order_by("-pk").values_list("pk", flat=True))
    first = client.get(f"/items/{item.pk}/")
    second = client.get(f"/items/{item.pk}/", {"cursor": first.context["history"]["next_cursor"]})
    assert [m.pk for m in first.context["history"]["items"]] == everything[:100]
    assert [m.pk for m in second.context["history"]["items"]] == everything[100:]
    assert second.context["history"]["next_cursor"] is None
    assert ">Older</a>" in first.content.decode() and ">Older</a>" not in second.content.decode()


def test_items_list_search_and_scan(world, client_as, shelf):
    admin = world.alpha.actor()
    item_create(actor=admin, sku="BOLT-8", name="Hex bolt M8")
    client = client_as(world.alpha, Role.VIEWER)
    assert [i.sku for i in client.get("/items/").context["page"]["items"]] == ["ALPHA-SKU-1", "BOLT-8"]
    assert [i.sku for i in client.get("/items/", {"q": "bolt"}).context["page"]["items"]] == ["BOLT-8"]
    assert [i.sku for i in client.get("/items/", {"q": "widget"}).context["page"]["items"]] == ["ALPHA-SKU-1"]
    scanned = client.get("/items/", {"q": BARCODE})
    assert scanned.status_code == 302 and scanned["Location"] == f"/items/{shelf[0].pk}/"
    assert client.get("/items/", {"q": "96385074"}).context["page"]["items"] == []  # bravo's barcode
    html = client.get("/items/").content.decode()
    assert "New item" not in html and "Levels" not in client.get(f"/items/{shelf[0].pk}/").content.decode()


def test_creating_an_item_and_its_barcodes_and_levels(world, client_as):
    client = client_as(world.alpha, Role.SUPERVISOR)
    response = client.post("/items/new/", {"sku": "BOLT-8", "name": " Hex bolt M8 ", "unit": "box",
                                           "unit_cost": "0,25", "min_level": "5", "tracks_lots": "on",
                                           "barcodes": "12345670, INT-8"}, follow=True)
    item = Item.objects.get(sku="BOLT-8")
    assert response.redirect_chain == [(f"/items/{item.pk}/", 302)]
    assert _messages(response) == ["Item BOLT-8 created."]
    assert (item.name, item.unit, item.unit_cost, item.min_level, item.max_level, item.tracks_lots) == (
        "Hex bolt M8", "box", Decimal("0.25"), Decimal("5"), None, True)
    assert sorted(item.barcodes.values_list("code", "kind")) == [("12345670", "ean8"), ("INT-8", "internal")]

    added = client.post(f"/items/{item.pk}/barcodes/", {"code": "4006381333948"}, follow=True)
    assert _messages(added) == ["Barcode 4006381333948 added to BOLT-8."]
    removed = client.post(f"/items/{item.pk}/barcodes/remove/", {"code": "INT-8"}, follow=True)
    assert _messages(removed) == ["Barcode INT-8 removed from BOLT-8."]
    levels = client.post(f"/items/{item.pk}/levels/", {"min_level": "", "max_level": "100"}, follow=True)
    assert _messages(levels) == ["Levels of BOLT-8 saved."]
    item.refresh_from_db()
    assert (item.min_level, item.max_level) == (None, Decimal("100"))
    assert sorted(item.barcodes.values_list("code", flat=True)) == ["12345670", "4006381333948"]
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "item.create", "item.barcode_add", "item.barcode_remove", "item.update"]


@pytest.mark.parametrize(("path", "data", "context", "field", "error"), [
    ("/items/new/", {"sku": "ALPHA-SKU-1", "name": "Again"}, "form", "sku", "SKU 'ALPHA-SKU-1' exists already"),
    ("/items/new/", {"sku": "has space", "name": "X"}, "form", "sku",
     "sku needs 1–64 characters without spaces: A–Z, a–z, 0–9 and ASCII punctuation"),
    ("/items/new/", {"sku": "N-1", "name": "X", "barcodes": "4006381333932"}, "form", "barcodes",
     "4006381333932 has a wrong check digit (expected 1)"),
    ("/items/new/", {"sku": "N-1", "name": "X", "min_level": "5", "max_level": "2"}, "form", None,
     "The minimum level (5) is above the maximum (2)"),
    ("/items/{item}/levels/", {"min_level": "1.0005"}, "levels", None, "1.0005 has more than 3 decimal places"),
    ("/items/new/", {"sku": "N-1", "name": "X", "barcodes": f"0{BARCODE}"}, "form", "barcodes",
     "Barcode 04006381333931 is the same GTIN as 4006381333931, a barcode of item ALPHA-SKU-1"),
    ("/items/{item}/barcodes/", {"code": "123", "kind": "ean13"}, "barcode", "code", "EAN13 has 13 digits"),
])
def test_catalog_forms_show_errors_and_write_nothing(world, client_as, path, data, context, field, error):
    item = Item.objects.get(pk=_item(world.alpha, Role.ADMIN, world.alpha)["item_id"])
    client = client_as(world.alpha, Role.SUPERVISOR)
    before = database_state()
    response = client.post(path.format(item=item.pk), data)
    assert response.status_code == 422
    errors = response.context[context].errors
    assert errors.get(field or "__all__", errors.get("min_level")) == [error], errors
    assert database_state() == before


def test_removing_a_barcode_the_item_lacks_is_a_message(world, client_as, shelf):
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post(f"/items/{shelf[0].pk}/barcodes/remove/", {"code": "96385074"}, follow=True)
    assert _messages(response) == ["The item has no such barcode"]
    assert database_state() == before


def test_a_barcode_with_a_slash_is_added_and_removed_on_the_page(world, client_as, shelf):
    client = client_as(world.alpha, Role.ADMIN)
    added = client.post(f"/items/{shelf[0].pk}/barcodes/", {"code": "PAL/0001"}, follow=True)
    assert _messages(added) == [f"Barcode PAL/0001 added to {shelf[0].sku}."]
    assert 'name="code" value="PAL/0001"' in added.content.decode()  # its Remove button
    removed = client.post(f"/items/{shelf[0].pk}/barcodes/remove/", {"code": "PAL/0001"}, follow=True)
    assert _messages(removed) == [f"Barcode PAL/0001 removed from {shelf[0].sku}."]
    assert not shelf[0].barcodes.filter(code="PAL/0001").exists()


# Locations -----------------------------------------------------------------------------------------------

def test_location_tree_create_move_and_archive(world, client_as, shelf):
    item, a01, b01 = shelf
    site = world.alpha.sites[0]
    client = client_as(world.alpha, Role.SUPERVISOR)

    def create(**data):
        return client.post("/locations/new/", {"site": site.pk, **data}, follow=True)

    zone = create(code="Z", kind="zone", name="Cold store")
    assert _messages(zone) == ["Location Z created; its barcode is ALPHA-1-Z."]
    create(code="Z-A", kind="aisle", parent="Z")  # the parent by its code
    create(code="Z-A-1", kind="bin", parent="ALPHA-1-Z-A", barcode="LBL-0001")  # by its barcode
    refused = client.post("/locations/new/", {"site": site.pk, "code": "Z-A", "kind": "bin"})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {
        "code": ["Code 'Z-A' exists in this site, or barcode 'ALPHA-1-Z-A' in the organization"]}
    location_create(actor=world.alpha.actor(), site=world.alpha.sites[1], code="C-01")
    elsewhere = client.post("/locations/new/", {"site": site.pk, "code": "Q", "kind": "bin", "parent": "ALPHA-2-C-01"})
    assert elsewhere.context["form"].errors == {"parent": ["No location with barcode or code 'ALPHA-2-C-01'"]}

    top = client.get("/locations/")  # a level at a time, each with how many lie directly inside it
    assert [(loc.code, loc.inside) for loc in top.context["rows"]] == [("A-01", 0), ("B-01", 0), ("Z", 1)]
    zone = Location.objects.get(code="Z")
    assert f'href="/locations/?under={zone.pk}" aria-label="Open Z: 1 inside"' in top.content.decode()
    inside = client.get("/locations/", {"under": zone.pk})
    assert [(loc.code, loc.inside) for loc in inside.context["rows"]] == [("Z-A", 1)]
    deeper = client.get("/locations/", {"under": Location.objects.get(code="Z-A").pk})
    assert [loc.code for loc in deeper.context["rows"]] == ["Z-A-1"]
    assert [a.code for a in deeper.context["ancestors"]] == ["Z"]
    assert [loc.code for loc in client.get("/locations/", {"q": "z-a"}).context["rows"]] == ["Z-A", "Z-A-1"]
    assert [loc.code for loc in client.get("/locations/", {"q": "cold"}).context["rows"]] == ["Z"]
    assert [loc.code for loc in client.get("/locations/", {"q": "LBL-0001"}).context["rows"]] == ["Z-A-1"]
    assert [loc.code for loc in client.get("/locations/", {"q": "Z", "under": zone.pk}).context["rows"]] == [
        "Z-A", "Z-A-1"]  # a search under a location finds what lies below it, at any depth

    bin_ = Location.objects.get(code="Z-A-1")
    page = client.get(f"/locations/{bin_.pk}/")
    assert [a.code for a in page.context["ancestors"]] == ["Z", "Z-A"]
    moved = client.post(f"/locations/{bin_.pk}/move/", {"parent": "A-01"}, follow=True)
    assert _messages(moved) == ["Location Z-A-1 moved under A-01."]
    bin_.refresh_from_db()
    assert (bin_.parent, bin_.path) == (a01, f"{a01.path}{bin_.pk}/")
    loop = client.post(f"/locations/{Location.objects.get(code='Z').pk}/move/", {"parent": "Z-A"}, follow=True)
    assert _messages(loop) == ["A location cannot move under itself or its own children"]

    before = database_state()
    refused = client.post(f"/locations/{a01.pk}/archive/", follow=True)
    assert _messages(refused) == ["Stock lies in this location or under it; transfer it away before archiving"]
    assert database_state() == before
    archived = client.post(f"/locations/{Location.objects.get(code='Z').pk}/archive/", follow=True)
    assert _messages(archived) == ["Location Z and everything under it archived."]
    assert 'data-testid="archived"' in archived.content.decode()
    assert list(Location.objects.filter(archived_at__isnull=False).order_by("code").values_list("code", flat=True)) \
        == ["Z", "Z-A"]
    assert list(AuditEvent.objects.filter(action__startswith="location.").order_by("pk")
                .values_list("action", flat=True)) == [
        *["location.create"] * 6, "location.move", "location.archive"]  # A-01, B-01, Z, Z-A, Z-A-1, C-01


def test_a_long_level_of_locations_is_paged_by_code(world, client_as, monkeypatch):
    monkeypatch.setattr(stock_views, "LEVEL_SIZE", 3)
    site = world.alpha.sites[0]
    for code in ("B-2", "A-1", "C-3", "A-2", "B-1"):
        location_create(actor=world.alpha.actor(), site=site, code=code)
    client = client_as(world.alpha, Role.VIEWER)
    first = client.get("/locations/")
    assert [loc.code for loc in first.context["rows"]] == ["A-1", "A-2", "B-1"]
    assert first.context["next_after"] == "B-1"
    second = client.get("/locations/", {"site": site.pk, "after": "B-1"})
    assert [loc.code for loc in second.context["rows"]] == ["B-2", "C-3"]
    assert second.context["next_after"] is None
    assert 'data-testid="next"' not in second.content.decode()


def test_location_page_shows_its_stock_and_movements(world, client_as, shelf):
    item, a01, b01 = shelf
    client = client_as(world.alpha, Role.VIEWER)
    page = client.get(f"/locations/{a01.pk}/")
    assert [(r.item.sku, r.quantity) for r in page.context["on_hand"]] == [("ALPHA-SKU-1", Decimal("10"))]
    assert [m.kind for m in page.context["movements"]] == ["receipt"]
    html = page.content.decode()
    assert "Archive" not in html and "Move</button>" not in html  # a viewer cannot


# Alerts --------------------------------------------------------------------------------------------------

@pytest.fixture
def alerts(world, shelf):
    item, a01, _ = shelf
    org = world.alpha.organization

    def alert(kind, status, site):
        return StockAlert.objects.create(organization=org, kind=kind, severity="high", status=status, item=item,
                                         site=site, message=f"{kind} {status}")

    return {"open": alert("low_stock", "open", a01.site),
            "acknowledged": alert("stockout", "acknowledged", a01.site),
            "resolved": alert("excess", "resolved", a01.site),
            "other site": alert("low_stock", "open", world.alpha.sites[1])}


def _listed(response) -> list[str]:
    return [a.message for a in response.context["page"]["items"]]


def test_alerts_list_and_filters(world, client_as, alerts):
    supervisor = client_as(world.alpha, Role.SUPERVISOR)
    assert _listed(supervisor.get("/alerts/")) == ["stockout acknowledged", "low_stock open"]
    assert _listed(supervisor.get("/alerts/", {"status": "resolved"})) == ["excess resolved"]
    assert _listed(supervisor.get("/alerts/", {"status": "all"})) == [
        "excess resolved", "stockout acknowledged", "low_stock open"]
    assert _listed(supervisor.get("/alerts/", {"kind": "stockout"})) == ["stockout acknowledged"]
    assert _listed(supervisor.get("/alerts/", {"severity": "low"})) == []
    admin = client_as(world.alpha, Role.ADMIN)
    assert _listed(admin.get("/alerts/", {"site": world.alpha.sites[1].pk})) == ["low_stock open"]
    viewer = client_as(world.alpha, Role.VIEWER).get("/alerts/")
    assert _listed(viewer) == ["stockout acknowledged", "low_stock open"]
    assert ">Acknowledge</button>" not in viewer.content.decode()
    html = supervisor.get("/alerts/").content.decode()
    assert html.count(">Acknowledge</button>") == 1 and html.count(">Resolve</button>") == 2


def test_acknowledging_and_resolving_alerts(world, client_as, alerts):
    client = client_as(world.alpha, Role.SUPERVISOR)
    alert = alerts["open"]
    back = "/alerts/?kind=low_stock"
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert _messages(response) == ["Alert “low_stock open” acknowledged."]
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", world.alpha.user(Role.SUPERVISOR))

    before = database_state()
    again = client.post(f"/alerts/{alert.pk}/acknowledge/", follow=True)
    assert _messages(again) == ["The alert is acknowledged already"]
    assert database_state() == before

    resolved = client.post(f"/alerts/{alert.pk}/resolve/", {"next": "https://evil.example/"})
    assert resolved["Location"] == "/alerts/"
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert list(AuditEvent.objects.filter(action__startswith="alert.").order_by("pk")
                .values_list("action", "object_id")) == [("alert.acknowledge", str(alert.pk)),
                                                         ("alert.resolve", str(alert.pk))]
    # A non-admin cannot act on another site's alert: it does not exist for them.
    other = alerts["other site"]
    assert client.post(f"/alerts/{other.pk}/resolve/").status_code == 404
    other.refresh_from_db()
    assert other.status == "open"


# Other tenants -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kwargs", "data"), [
    ("item_levels", _item, {"min_level": "1"}),
    ("item_barcode_add", _item, {"code": "INT-1"}),
    ("item_barcode_remove", _item, {"code": "96385074"}),
    ("location_move", _empty_location, {"parent": ""}),
    ("location_archive", _empty_location, {}),
    ("alert_acknowledge", _alert, {}),
    ("alert_resolve", _alert, {}),
])
def test_actions_on_other_tenants_ids_answer_404_and_change_nothing(world, client_as, name, kwargs, data):
    stocked(world.alpha)
    url = reverse(f"web:{name}", kwargs=kwargs(world.alpha, Role.ADMIN, world.bravo))
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post(url, data)
    assert response.status_code == 404
    assert b"bravo" not in response.content.lower()
    assert database_state() == before


def test_other_tenants_pages_answer_404(world, client_as):
    item, location = stocked(world.bravo)
    client = client_as(world.alpha, Role.ADMIN)
    assert client.get(f"/items/{item.pk}/").status_code == 404
    assert client.get(f"/locations/{location.pk}/").status_code == 404
    assert client.get("/locations/", {"site": world.bravo.sites[0].pk}).status_code == 404
    assert client.get("/locations/", {"under": location.pk}).status_code == 404
    assert ItemBarcode.objects.filter(organization=world.alpha.organization).count() == 0


# Quantities --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    ("12.000", "12"), ("2.500", "2.5"), ("0.001", "0.001"), ("1234567.500", "1234567.5"), ("0", "0"),
    ("-99890.000", "-99890"), ("10.000", "10"),  # never "1E+1"
])
def test_pages_write_a_quantity_as_the_messages_do(value, text):
    from stocktrace.inventory.templatetags.quantities import money, quantity, signed_quantity

    assert quantity(Decimal(value)) == text
    assert signed_quantity(Decimal(value)) == (("+" if Decimal(value) > 0 else "") + text)
    assert quantity(None) == "" and money(None) == ""


@pytest.mark.parametrize(("value", "text"), [("0.1200", "0.12"), ("0.1250", "0.125"), ("3.0000", "3.00"),
                                             ("0", "0.00"), ("12.3456", "12.3456")])
def test_pages_write_money_with_two_to_four_decimals(value, text):
    from stocktrace.inventory.templatetags.quantities import money

    assert money(Decimal(value)) == text


def test_stock_pages_show_no_trailing_zeros(world, client_as):
    admin = world.alpha.actor()
    item = item_create(actor=admin, sku="CABLE", name="Cable", unit="m", unit_cost="0.1250")
    bin_ = location_create(actor=admin, site=world.alpha.sites[0], code="C-1")
    stock_receive(actor=admin, item=item, location=bin_, quantity_received="109.5")
    client = client_as(world.alpha, Role.SUPERVISOR)
    for url in ("/stock/", f"/items/{item.pk}/", f"/locations/{bin_.pk}/"):
        html = client.get(url).content.decode()
        assert "109.5" in html and "109.500" not in html, url
    assert ">0.125<" in client.get(f"/items/{item.pk}/").content.decode()
