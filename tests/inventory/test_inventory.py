import threading
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stocktrace.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from stocktrace.inventory.barcodes import classify, gs1_check_digit, scan_key
from stocktrace.inventory.models import ItemBarcode, Location, OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import item_by_code, ledger_drift, on_hand_rows
from stocktrace.inventory.services.alerts import alert_acknowledge, alert_resolve, alerts_expiry_scan
from stocktrace.inventory.services.catalog import (
    item_barcode_add,
    item_barcode_remove,
    item_create,
    item_update,
    location_archive,
    location_create,
    location_move,
)
from stocktrace.inventory.services.ledger import (
    stock_adjust,
    stock_count_correct,
    stock_issue,
    stock_receive,
    stock_transfer,
)
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state
from tests.factories import make_world, stocked


def on_hand(item, location, lot="") -> Decimal:
    return OnHand.objects.filter(item=item, location=location, lot=lot).values_list("quantity", flat=True).first()


@pytest.fixture
def shop(world):
    actor = world.alpha.actor()
    site = world.alpha.sites[0]
    bins = [location_create(actor=actor, site=site, code=f"B-{n}") for n in range(3)]
    item = item_create(actor=actor, sku="W-1", name="Widget", unit_cost="1.2500", barcodes=["4006381333931"])
    return actor, site, bins, item


@pytest.mark.parametrize(("code", "kind"), [("4006381333931", "ean13"), ("96385074", "ean8"),
                                             ("036000291452", "upca"), ("10012345678902", "gtin14"),
                                             ("BOX-12/a", "internal")])
def test_barcodes_are_classified_and_check_digits_verified(code, kind):
    assert classify(code) == (code, kind)


@pytest.mark.parametrize("code", ["4006381333932", "96385075", "036000291453", "10012345678903", "has space", ""])
def test_bad_barcodes_are_refused(code):
    with pytest.raises(InvalidInput):
        classify(code)


def test_check_digit():
    assert gs1_check_digit("400638133393") == 1


def test_receive_issue_and_the_ledger_agree(shop):
    actor, site, bins, item = shop
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="10.125", reference="PO-7")
    stock_issue(actor=actor, item=item, location=bins[0], quantity_issued="0.125")
    assert on_hand(item, bins[0]) == Decimal("10.000")
    movements = list(StockMovement.objects.order_by("pk").values_list("kind", "quantity", "reference"))
    assert movements == [("receipt", Decimal("10.125"), "PO-7"), ("issue", Decimal("-0.125"), "")]
    assert ledger_drift() == []


@pytest.mark.parametrize("bad", ["1.0001", 1.5, "abc", "0", "-3", "NaN", "1e20"])
def test_bad_quantities_change_nothing(shop, bad):
    actor, site, bins, item = shop
    before = database_state()
    with pytest.raises(InvalidInput):
        stock_receive(actor=actor, item=item, location=bins[0], quantity_received=bad)
    assert database_state() == before


def test_negative_stock_is_refused_unless_the_organization_allows_it(shop, world):
    actor, site, bins, item = shop
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="3")
    before = database_state()
    with pytest.raises(Conflict, match="Only 3 ea"):
        stock_issue(actor=actor, item=item, location=bins[0], quantity_issued="4")
    assert database_state() == before
    org = world.alpha.organization
    org.allow_negative_stock = True
    org.save()
    stock_issue(actor=Actor(organization=org, membership=world.alpha.members["admin"]), item=item,
                location=bins[0], quantity_issued="4")
    assert on_hand(item, bins[0]) == Decimal("-1")


def test_transfers_move_lots_with_their_expiry_between_sites(world):
    actor = world.alpha.actor()
    here = location_create(actor=actor, site=world.alpha.sites[0], code="IN")
    there = location_create(actor=actor, site=world.alpha.sites[1], code="OUT")
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    stock_receive(actor=actor, item=milk, location=here, quantity_received="8", lot="L1",
                  expires_on=date(2030, 1, 31))
    out, into = stock_transfer(actor=actor, item=milk, source=here, destination=there, quantity_moved="5", lot="L1")
    assert (out.kind, out.quantity, into.kind, into.quantity) == ("transfer_out", -5, "transfer_in", 5)
    assert out.group == into.group is not None
    assert OnHand.objects.get(location=there, lot="L1").expires_on == date(2030, 1, 31)
    assert (on_hand(milk, here, "L1"), on_hand(milk, there, "L1")) == (3, 5)


def test_lot_and_expiry_rules(shop):
    actor, site, bins, item = shop
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    with pytest.raises(InvalidInput, match="give the lot"):
        stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="1")
    with pytest.raises(InvalidInput, match="expiry"):
        stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="1", lot="L1")
    with pytest.raises(InvalidInput, match="not lot-tracked"):
        stock_receive(actor=actor, item=item, location=bins[0], quantity_received="1", lot="L1")
    stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="1", lot="L1",
                  expires_on=date(2030, 1, 1))
    with pytest.raises(Conflict, match="expires on 2030-01-01"):
        stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="1", lot="L1",
                      expires_on=date(2031, 1, 1))


def test_adjustments_need_a_reason_and_counts_set_the_quantity(shop):
    actor, site, bins, item = shop
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="10")
    with pytest.raises(InvalidInput):
        stock_adjust(actor=actor, item=item, location=bins[0], delta="-1", reason=" ")
    stock_adjust(actor=actor, item=item, location=bins[0], delta="-2", reason="damaged")
    correction = stock_count_correct(actor=actor, item=item, location=bins[0], counted="7.5")
    assert (correction.kind, correction.quantity) == ("count_correction", Decimal("-0.5"))
    assert stock_count_correct(actor=actor, item=item, location=bins[0], counted="7.5") is None
    assert on_hand(item, bins[0]) == Decimal("7.5")


@pytest.mark.parametrize(("expected", "counted", "severity"), [
    ("100", "97", "low"), ("100", "85", "medium"), ("100", "60", "high"), ("100", "40", "critical"),
    ("100", "160", "critical"), ("8", "0", "critical"), ("0", "3", "medium"),
])
def test_a_count_that_differs_raises_one_discrepancy_alert(shop, expected, counted, severity):
    actor, site, bins, item = shop
    if Decimal(expected):
        stock_receive(actor=actor, item=item, location=bins[0], quantity_received=expected)
    stock_count_correct(actor=actor, item=item, location=bins[0], counted=counted)
    alert = StockAlert.objects.get(kind="discrepancy")
    assert (alert.severity, alert.location, alert.quantity, alert.threshold) == (
        severity, bins[0], Decimal(counted), Decimal(expected))
    assert f"counted {counted}, expected {expected}" in alert.message  # as people write quantities
    stock_count_correct(actor=actor, item=item, location=bins[0], counted=expected)  # counted again: refreshed
    assert StockAlert.objects.filter(kind="discrepancy").count() == 1
    assert stock_count_correct(actor=actor, item=item, location=bins[0], counted=expected) is None


def test_roles_and_sites_limit_who_moves_what(world, shop):
    actor, site, bins, item = shop
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="5")
    elsewhere = location_create(actor=actor, site=world.alpha.sites[1], code="FAR")
    dispatcher = world.alpha.actor(Role.DISPATCHER)  # assigned to sites[0] only
    stock_issue(actor=dispatcher, item=item, location=bins[0], quantity_issued="1")
    with pytest.raises(PermissionDenied):
        stock_adjust(actor=dispatcher, item=item, location=bins[0], delta="1", reason="found")
    with pytest.raises(PermissionDenied):
        stock_transfer(actor=dispatcher, item=item, source=bins[0], destination=elsewhere, quantity_moved="1")
    with pytest.raises(PermissionDenied):
        stock_receive(actor=world.alpha.actor(Role.COUNTER), item=item, location=bins[0], quantity_received="1")
    assert [r.location_id for r in on_hand_rows(actor=world.alpha.actor(Role.VIEWER))] == [bins[0].pk]


def test_barcode_or_sku_finds_the_item_in_one_query(shop, django_assert_num_queries):
    actor, site, bins, item = shop
    with django_assert_num_queries(1):
        assert item_by_code(actor=actor, code="4006381333931") == item
    with django_assert_num_queries(1):
        assert item_by_code(actor=actor, code="04006381333931") == item  # the same GTIN, as 14 digits


UPCA = "036000291452"


@pytest.mark.parametrize(("code", "key"), [
    (UPCA, f"00{UPCA}"), (f"0{UPCA}", f"00{UPCA}"), (f"00{UPCA}", f"00{UPCA}"),  # one GTIN, three forms
    ("10012345678902", "10012345678902"),  # a case of another level: a GTIN of its own
    ("96385074", "96385074"), ("000096385074", "00000096385074"),  # EAN-8 stays its own space
    ("036000291453", "036000291453"), ("PAL/0001", "PAL/0001"),  # not a GTIN: the code as it is
])
def test_the_scan_key_of_a_code(code, key):
    assert scan_key(code) == key


def test_one_gtin_is_one_barcode_whichever_form_is_given_or_scanned(world, django_assert_num_queries):
    actor = world.alpha.actor()
    soup = item_create(actor=actor, sku="SOUP", name="Soup", barcodes=[UPCA, "96385074"])
    other = item_create(actor=actor, sku="OTHER", name="Other")
    before = database_state()
    for form in (f"0{UPCA}", f"00{UPCA}"):
        with pytest.raises(Conflict, match=f"Barcode {form} is the same GTIN as {UPCA}, a barcode of item SOUP"):
            item_barcode_add(actor=actor, item=other, code=form)
        with pytest.raises(Conflict, match=f"Barcode {form} is the same GTIN as {UPCA}, a barcode of item SOUP"):
            item_create(actor=actor, sku="NEW", name="New", barcodes=[form])
    with pytest.raises(Conflict, match=f"Barcode {UPCA} belongs to item SOUP"):
        item_barcode_add(actor=actor, item=other, code=UPCA)
    assert item_barcode_add(actor=actor, item=soup, code=f"0{UPCA}").code == UPCA  # it has it: nothing changes
    assert database_state() == before
    for form in (UPCA, f"0{UPCA}", f"00{UPCA}"):
        with django_assert_num_queries(1):
            assert item_by_code(actor=actor, code=form) == soup
    item_barcode_add(actor=actor, item=other, code="000096385074")  # not the EAN-8 96385074
    assert item_by_code(actor=actor, code="000096385074") == other
    assert item_by_code(actor=actor, code="96385074") == soup
    item_barcode_remove(actor=actor, item=soup, code=f"00{UPCA}")  # removed by any of its forms
    assert list(soup.barcodes.values_list("code", flat=True)) == ["96385074"]
    item_barcode_add(actor=actor, item=other, code=f"0{UPCA}")  # free now
    assert item_by_code(actor=actor, code=UPCA) == other
    item_create(actor=world.bravo.actor(), sku="SOUP", name="Soup", barcodes=[UPCA])  # another organization's


def test_the_postgresql_statement_finds_what_the_orm_finds(world, monkeypatch):
    """On PostgreSQL a scan is one hand-written statement; elsewhere the ORM. Both must agree on every form of a
    GTIN, on internal codes and on SKUs, down to the item's barcodes."""
    from types import SimpleNamespace

    from stocktrace.inventory import selectors

    actor = world.alpha.actor()
    soup = item_create(actor=actor, sku="SOUP", name="Soup", unit_cost="1.5", min_level="2",
                       barcodes=[f"0{UPCA}", "PAL/0001", "96385074"])
    item_create(actor=world.bravo.actor(), sku="B", name="Bravo's", barcodes=[f"00{UPCA}"])

    def found(code):
        try:
            item = item_by_code(actor=actor, code=code)
        except NotFound:
            return None
        codes = getattr(item, "barcode_codes", None)
        return ({f.attname: getattr(item, f.attname) for f in item._meta.concrete_fields},
                codes if codes is not None else [b.code for b in item.barcodes.order_by("pk")])

    codes = [UPCA, f"0{UPCA}", f"00{UPCA}", "PAL/0001", "96385074", "SOUP", "000096385074", "nope"]
    by_statement = {code: found(code) for code in codes}
    monkeypatch.setattr(selectors, "connection", SimpleNamespace(vendor="other"))  # the ORM path
    assert {code: found(code) for code in codes} == by_statement
    assert by_statement[UPCA][0]["id"] == soup.pk and by_statement[UPCA][1] == [f"0{UPCA}", "PAL/0001", "96385074"]
    assert by_statement["000096385074"] is None and by_statement["nope"] is None


def test_the_migration_gives_existing_barcodes_their_scan_key(world):
    """Rows written before the scan key: two forms of one GTIN on one item merge, on two items they stop the
    migration with a list to settle."""
    import importlib

    from django.apps import apps

    fill = importlib.import_module("stocktrace.inventory.migrations.0005_item_barcode_scan_key").fill_scan_keys
    actor = world.alpha.actor()
    soup = item_create(actor=actor, sku="SOUP", name="Soup", barcodes=[UPCA, "INT-1"])
    other = item_create(actor=actor, sku="OTHER", name="Other", barcodes=["INT-2"])
    # As they were before: keyed by their codes, and the second form of the GTIN accepted on another item.
    for barcode in ItemBarcode.objects.all():
        ItemBarcode.objects.filter(pk=barcode.pk).update(scan_key=barcode.code)
    ItemBarcode.objects.filter(code="INT-2").update(code=f"0{UPCA}", scan_key=f"0{UPCA}")
    with pytest.raises(RuntimeError, match=f"{UPCA} \\(item id {soup.pk}\\) and 0{UPCA} \\(item id {other.pk}\\)"):
        fill(apps, None)
    ItemBarcode.objects.filter(item=other).update(item=soup)
    fill(apps, None)
    assert sorted(ItemBarcode.objects.values_list("code", "scan_key")) == [(UPCA, f"00{UPCA}"), ("INT-1", "INT-1")]


def test_location_tree_moves_and_archives(world):
    actor = world.alpha.actor()
    site = world.alpha.sites[0]
    zone = location_create(actor=actor, site=site, code="Z1", kind="zone")
    aisle = location_create(actor=actor, site=site, code="Z1-A", kind="aisle", parent=zone)
    rack = location_create(actor=actor, site=site, code="Z1-A-R1", kind="rack", parent=aisle)
    other_zone = location_create(actor=actor, site=site, code="Z2", kind="zone")
    assert rack.barcode == f"{site.code}-Z1-A-R1"
    with pytest.raises(InvalidInput):
        location_move(actor=actor, location=zone, parent=rack)
    location_move(actor=actor, location=aisle, parent=other_zone)
    rack.refresh_from_db()
    assert rack.path == f"/{other_zone.pk}/{aisle.pk}/{rack.pk}/"
    item = item_create(actor=actor, sku="X", name="X")
    stock_receive(actor=actor, item=item, location=rack, quantity_received="1")
    with pytest.raises(Conflict):
        location_archive(actor=actor, location=other_zone)
    stock_issue(actor=actor, item=item, location=rack, quantity_issued="1")
    location_archive(actor=actor, location=other_zone)
    assert set(Location.objects.filter(archived_at__isnull=False).values_list("code", flat=True)) == {
        "Z2", "Z1-A", "Z1-A-R1"}
    assert StockMovement.objects.filter(location=rack).count() == 2  # history stays


def test_level_alerts_are_raised_once_and_managed_by_people(shop, world):
    actor, site, bins, item = shop
    item = item_update(actor=actor, item=item, min_level="5", max_level="20")
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="6")
    assert not StockAlert.objects.exists()
    stock_issue(actor=actor, item=item, location=bins[0], quantity_issued="2")
    stock_issue(actor=actor, item=item, location=bins[0], quantity_issued="1")
    low = StockAlert.objects.get()
    assert (low.kind, low.severity, low.quantity) == ("low_stock", "medium", Decimal("3"))
    alert_acknowledge(actor=actor, alert=low)
    with pytest.raises(Conflict):
        alert_acknowledge(actor=actor, alert=low)
    low.refresh_from_db()
    assert (low.status, low.acknowledged_by) == ("acknowledged", actor.user)
    stock_issue(actor=actor, item=item, location=bins[0], quantity_issued="3")
    # Out of stock is the worse news: it replaces the low-stock alert rather than joining it.
    assert set(StockAlert.objects.exclude(status="resolved").values_list("kind", "severity")) == {
        ("stockout", "critical")}
    low.refresh_from_db()
    assert (low.status, low.resolved_by, low.resolution) == ("resolved", None, "0 ea on hand at the site")
    with pytest.raises(PermissionDenied):
        alert_resolve(actor=world.alpha.actor(Role.COUNTER), alert=StockAlert.objects.get(kind="stockout"))
    stock_receive(actor=actor, item=item, location=bins[1], quantity_received="25")
    assert set(StockAlert.objects.exclude(status="resolved").values_list("kind", flat=True)) == {"excess"}
    stockout = StockAlert.objects.get(kind="stockout")
    assert (stockout.status, stockout.resolution) == ("resolved", "25 ea on hand at the site")
    excess = StockAlert.objects.get(kind="excess")
    alert_resolve(actor=actor, alert=excess)
    excess.refresh_from_db()
    assert (excess.status, excess.resolved_by, excess.resolution) == ("resolved", actor.user, "")
    stock_issue(actor=actor, item=item, location=bins[1], quantity_issued="24")  # low again: a new alert
    assert StockAlert.objects.filter(kind="low_stock").count() == 2
    assert StockAlert.objects.exclude(status="resolved").get().kind == "low_stock"


def test_expiry_scan(shop):
    actor, site, bins, item = shop
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    today = date(2030, 6, 1)
    for lot, expires in [("OLD", today - timedelta(days=1)), ("SOON", today + timedelta(days=3)),
                         ("LATER", today + timedelta(days=20)), ("FINE", today + timedelta(days=90))]:
        stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="1", lot=lot, expires_on=expires)
    assert alerts_expiry_scan(today=today) == {"expired": 1, "expiring": 2, "resolved": 0}
    assert alerts_expiry_scan(today=today) == {"expired": 1, "expiring": 2, "resolved": 0}
    assert sorted(StockAlert.objects.values_list("lot", "kind", "severity")) == [
        ("LATER", "expiring", "medium"), ("OLD", "expired", "critical"), ("SOON", "expiring", "high")]


def test_preflight_finds_ledger_drift(shop, capsys):
    actor, site, bins, item = shop
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="4")
    call_command("preflight", check=["ledger_drift"])
    OnHand.objects.filter(item=item).update(quantity=Decimal("5"))  # what a hand-written SQL fix would do
    with pytest.raises(SystemExit) as exit_:
        call_command("preflight", check=["ledger_drift"])
    assert exit_.value.code == 1
    assert "quantity=5.000, ledger=4" in capsys.readouterr().out


QUANTITIES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["receive", "issue", "adjust", "transfer", "count"]),
                          st.integers(0, 2), st.integers(0, 2), QUANTITIES, st.booleans()), max_size=25))
def test_the_ledger_always_equals_on_hand(shop, steps):
    actor, site, bins, _ = shop
    # The ledger keeps every example's movements (it is append-only): each example posts a new item.
    item = item_create(actor=actor, sku=f"H-{uuid.uuid4().hex[:12]}", name="Hypothesis")
    expected = {b.pk: Decimal(0) for b in bins}
    for operation, a, b, amount, sign in steps:
        try:
            if operation == "receive":
                stock_receive(actor=actor, item=item, location=bins[a], quantity_received=amount)
                expected[bins[a].pk] += amount
            elif operation == "issue":
                stock_issue(actor=actor, item=item, location=bins[a], quantity_issued=amount)
                expected[bins[a].pk] -= amount
            elif operation == "adjust":
                delta = amount if sign else -amount
                stock_adjust(actor=actor, item=item, location=bins[a], delta=delta, reason="test")
                expected[bins[a].pk] += delta
            elif operation == "transfer" and a != b:
                stock_transfer(actor=actor, item=item, source=bins[a], destination=bins[b], quantity_moved=amount)
                expected[bins[a].pk] -= amount
                expected[bins[b].pk] += amount
            elif operation == "count":
                stock_count_correct(actor=actor, item=item, location=bins[a], counted=amount)
                expected[bins[a].pk] = amount
        except Conflict:
            pass  # refused (would go negative): must change nothing, checked below
        for location in bins:
            assert (on_hand(item, location) or 0) == expected[location.pk] >= 0
    drift = ledger_drift()
    assert drift == [], (steps, drift, list(StockMovement.objects.values_list("location_id", "quantity")))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation", ["receive", "issue"])
def test_concurrent_postings_on_the_same_stock_lose_nothing(operation):
    world = make_world()
    actor = world.alpha.actor()
    bin_ = location_create(actor=actor, site=world.alpha.sites[0], code="HOT")
    item = item_create(actor=actor, sku="HOT", name="Hot item")
    stock_receive(actor=actor, item=item, location=bin_, quantity_received="100")
    barrier = threading.Barrier(4)
    errors = []

    def post():
        barrier.wait()
        try:
            for _ in range(5):
                if operation == "receive":
                    stock_receive(actor=actor, item=item, location=bin_, quantity_received="1.5")
                else:
                    stock_issue(actor=actor, item=item, location=bin_, quantity_issued="1.5")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = Decimal("100") + (Decimal("30") if operation == "receive" else Decimal("-30"))
    assert on_hand(item, bin_) == expected
    assert StockMovement.objects.filter(item=item).count() == 21
    assert ledger_drift() == []


@pytest.mark.django_db(transaction=True)
def test_two_issues_racing_for_the_last_units_one_is_refused():
    world = make_world()
    actor = world.alpha.actor()
    bin_ = location_create(actor=actor, site=world.alpha.sites[0], code="LAST")
    item = item_create(actor=actor, sku="LAST", name="Last units")
    stock_receive(actor=actor, item=item, location=bin_, quantity_received="10")
    barrier = threading.Barrier(2)
    outcomes = []

    def take():
        barrier.wait()
        try:
            stock_issue(actor=actor, item=item, location=bin_, quantity_issued="6")
            outcomes.append("ok")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert on_hand(item, bin_) == Decimal("4")


def test_lot_tracking_cannot_change_under_stock(shop):
    actor, site, bins, item = shop
    stock_receive(actor=actor, item=item, location=bins[0], quantity_received="1")
    with pytest.raises(Conflict, match="no stock"):
        item_update(actor=actor, item=item, tracks_lots=True)
    stock_issue(actor=actor, item=item, location=bins[0], quantity_issued="1")
    assert item_update(actor=actor, item=item, tracks_lots=True).tracks_lots is True


def test_a_check_that_cannot_run_is_reported_not_raised(monkeypatch):
    from stocktrace.ops import preflight

    def broken():
        raise RuntimeError("no table")

    monkeypatch.setattr(preflight, "CHECKS", [preflight.Check("broken", "error", "Broken", broken)])
    report = preflight.preflight()
    assert report[0]["ok"] is False and "RuntimeError: no table" in report[0]["findings"][0]["error"]


@pytest.mark.parametrize("lines", [2, 101])  # PostgreSQL: one statement up to 100 lines, the general path above
def test_a_posting_of_many_lines_is_written_whole_with_one_audit_row(shop, lines):
    from stocktrace.audit.models import AuditEvent
    from stocktrace.inventory.services.ledger import Line, stock_lines_post

    actor, site, bins, item = shop
    extra = [location_create(actor=actor, site=site, code=f"M-{n}") for n in range(lines)]
    posted = stock_lines_post(actor=actor, action="stock.receipt", reference="PO-9",
                        lines=[Line(item, location, Decimal(n + 1), StockMovement.Kind.RECEIPT)
                               for n, location in enumerate(extra)])
    assert [m.pk for m in posted] == sorted(m.pk for m in posted)
    stored = {m.pk: m for m in StockMovement.objects.filter(reference="PO-9")}
    assert [(stored[m.pk].location_id, stored[m.pk].quantity) for m in posted] == [
        (location.pk, Decimal(n + 1)) for n, location in enumerate(extra)]
    assert len({m.group for m in stored.values()}) == 1 and posted[0].group is not None
    audit = AuditEvent.objects.get(action="stock.receipt")
    assert audit.object_id == str(posted[0].pk) and len(audit.after["lines"]) == lines
    assert ledger_drift(organization=actor.organization) == []


@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.django_db(transaction=True)
def test_the_ledger_stays_exact_and_no_answered_posting_is_lost_when_the_server_is_killed():
    # Receipts into one bin and transfers out of it stream in from four scanners; the server loses power.
    # Every posting answered 201 is in the ledger, no transfer is half-written, on-hand equals the ledger.
    import json

    from stocktrace.accounts.services import token_create
    from tests.factories import stocked
    from tests.processes import free_port, post, serve, skip_without_database_file, stream_until_killed

    skip_without_database_file()
    world = make_world()
    item, bin_a = stocked(world.alpha)
    bin_b = location_create(actor=world.alpha.actor(), site=world.alpha.sites[0], code="B-01", kind="bin")
    _, token = token_create(actor=world.alpha.actor(), name="scanner")
    port = free_port()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def scan(reference: str) -> int | None:
        if int(reference.split("-")[1]) % 2:
            path, payload = "stock/transfers", {"item_id": item.pk, "from_location_id": bin_a.pk,
                                                "to_location_id": bin_b.pk, "quantity": "1"}
        else:
            path, payload = "stock/receipts", {"item_id": item.pk, "location_id": bin_a.pk, "quantity": "2"}
        return post(f"http://127.0.0.1:{port}/api/v1/{path}", json.dumps({**payload, "reference": reference}).encode(),
                    headers)

    answers = stream_until_killed(serve(port), scan, accepted=201, enough=60)

    assert set(answers.values()) <= {201, None}
    answered = {reference for reference, status in answers.items() if status == 201}
    movements = StockMovement.objects.filter(organization=world.alpha.organization, reference__startswith="lane")
    by_reference: dict[str, list[str]] = {}
    for reference, kind in movements.values_list("reference", "kind"):
        by_reference.setdefault(reference, []).append(kind)
    assert answered <= set(by_reference)
    for reference, kinds in by_reference.items():  # a transfer is both of its lines or neither
        assert sorted(kinds) == (["transfer_in", "transfer_out"] if int(reference.split("-")[1]) % 2 else
                                 ["receipt"])
    assert ledger_drift(organization=world.alpha.organization) == []
    received = 2 * sum(1 for kinds in by_reference.values() if kinds == ["receipt"])
    moved = sum(1 for kinds in by_reference.values() if len(kinds) == 2)
    on_hand = dict(OnHand.objects.filter(item=item).values_list("location_id", "quantity"))
    assert (on_hand[bin_a.pk], on_hand.get(bin_b.pk, 0)) == (10 + received - moved, moved)


def test_a_location_barcode_is_one_location_s_on_create_and_update_with_one_message(world):
    from stocktrace.inventory import rules
    from stocktrace.inventory.services.catalog import location_update

    assert rules.LOCATION_KINDS == tuple(Location.Kind.values)
    assert rules.LOCATION_BARCODE_MAX == Location._meta.get_field("barcode").max_length
    assert rules.LOCATION_NAME_MAX == Location._meta.get_field("name").max_length
    actor = world.alpha.actor()
    _, a01 = stocked(world.alpha)  # barcode ALPHA-1-A-01
    b01 = location_create(actor=actor, site=world.alpha.sites[1], code="B-01")  # another site, same organization
    before = database_state()
    with pytest.raises(Conflict, match="^Barcode ALPHA-1-A-01 belongs to location A-01$") as refused:
        location_create(actor=actor, site=world.alpha.sites[1], code="B-02", barcode="ALPHA-1-A-01")
    assert refused.value.field == "barcode"
    with pytest.raises(Conflict, match="^Barcode ALPHA-2-B-01 belongs to location B-01$"):
        location_update(actor=actor, location=a01, barcode="ALPHA-2-B-01")
    with pytest.raises(InvalidInput, match="^'shelf' is not a kind; the kinds are zone, aisle, rack, bin, other$"):
        location_update(actor=actor, location=a01, kind="shelf")
    assert database_state() == before
    # Its own barcode again is no clash; another location of the same code elsewhere is not either.
    assert location_update(actor=actor, location=a01, barcode="ALPHA-1-A-01", name="A1").name == "A1"
    assert location_create(actor=actor, site=world.alpha.sites[1], code="A-01").barcode == "ALPHA-2-A-01"
    assert b01.pk


def test_a_location_name_over_150_characters_is_refused_by_create_update_and_the_bulk_check(world):
    from stocktrace.inventory.services.catalog import LocationRow, location_batch_check, location_update

    actor = world.alpha.actor()
    _, a01 = stocked(world.alpha)
    before = database_state()
    for call in (lambda: location_create(actor=actor, site=world.alpha.sites[0], code="LONG", name="n" * 151),
                 lambda: location_update(actor=actor, location=a01, name="n" * 151)):
        with pytest.raises(InvalidInput) as refused:
            call()
        assert (refused.value.field, refused.value.detail) == ("name", "A location's name has at most 150 characters")
    assert database_state() == before
    long_name = LocationRow(site=world.alpha.sites[0], code="LONG", name="n" * 151)
    batch = location_batch_check(actor=actor, rows=[long_name])
    assert batch.problems == {0: [("name", "A location's name has at most 150 characters")]}
    assert location_update(actor=actor, location=a01, name=" " + "n" * 150 + " ").name == "n" * 150


def test_many_codes_are_found_at_once_as_one_code_is(world):
    from stocktrace.inventory.selectors import items_by_codes

    actor = world.alpha.actor()
    bolt = item_create(actor=actor, sku="BOLT", name="Bolt", barcodes=["4006381333931"])
    nut = item_create(actor=actor, sku="NUT", name="Nut")
    item_create(actor=world.bravo.actor(), sku="BRAVO-ONLY", name="Theirs", barcodes=["96385074"])
    found = items_by_codes(actor=actor, codes={"4006381333931", "04006381333931", " NUT ", "4006381333932",
                                               "BRAVO-ONLY", "96385074"})
    assert found == {"4006381333931": bolt, "04006381333931": bolt, "NUT": nut}
