"""Imports and exports of items, locations and opening stock: CSV and XLSX, every bad row reported,
nothing half-applied, on-hand equal to the ledger, the API, the pages and the CLI."""

import csv
import io
import os
import signal
import subprocess
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from openpyxl import Workbook, load_workbook

from stocktrace.accounts.services import site_archive
from stocktrace.audit.models import AuditEvent
from stocktrace.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from stocktrace.imports import engine
from stocktrace.imports.models import ImportRun
from stocktrace.imports.services import import_check, import_file_apply, import_upload, stored_path
from stocktrace.inventory.models import Item, ItemBarcode, Location, OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import (
    ItemRow,
    LocationRow,
    item_batch_check,
    item_create,
    item_save_bulk,
    item_update,
    location_archive,
    location_batch_check,
    location_create,
    location_save_bulk,
)
from stocktrace.inventory.services.ledger import stock_issue, stock_receive
from stocktrace.jobs.models import JobProgress
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site
from stocktrace.tenancy.roles import Role
from tests.conftest import api, database_state, state_without
from tests.factories import stocked
from tests.job_fixtures import run_worker
from tests.processes import skip_without_database_file, stocktrace

ITEMS = ["sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry", "barcodes"]
LOCATIONS = ["site_code", "code", "kind", "name", "parent_code", "barcode"]
STOCK = ["site_code", "location_code", "sku", "quantity", "lot", "expires_on", "unit_cost"]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_file(folder: Path, fmt: str, rows: list[list], name: str = "import") -> Path:
    """CSV gets every value as text; XLSX keeps them typed (numbers, booleans, dates), as a spreadsheet would."""
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out, lineterminator="\n").writerows([[_text(v) for v in row] for row in rows])
    else:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("data")
        for row in rows:
            sheet.append(row)
        workbook.save(path)
    return path


def check(tenant, kind: str, path: Path, fmt: str | None = None):
    return import_check(actor=tenant.actor(), kind=kind, path=path, fmt=fmt or path.suffix[1:])


def apply(tenant, kind: str, path: Path, fmt: str | None = None) -> ImportRun:
    return import_file_apply(actor=tenant.actor(), kind=kind, path=path, fmt=fmt or path.suffix[1:])


def errors_of(outcome) -> list[tuple]:
    return [(e["line"], e["column"], e["reason"]) for e in outcome.errors]


pytestmark = pytest.mark.usefixtures("worker_keeps_the_test_transaction")

# An import that is refused or fails records that on its ImportRun, by design: the tests that expect it leave
# that table out of their database_state() and check the run themselves.
RUNS = "imports.ImportRun"


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 2 rows, so parents, duplicates and the all-or-nothing rule cross batch boundaries."""
    monkeypatch.setattr(engine, "BATCH_SIZE", 2)


# Items ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_items_are_created_and_existing_skus_updated(world, tmp_path, fmt, small_batches):
    existing, _ = stocked(world.alpha)  # ALPHA-SKU-1 "alpha widget", cost 2.5, barcode 4006381333931
    bravo_item, _ = stocked(world.bravo)  # BRAVO-SKU-1 with barcode 96385074, in the other organization
    path = make_file(tmp_path, fmt, [
        ITEMS,
        ["ALPHA-SKU-1", "Widget, blue", None, None, Decimal("5"), None, None, None, "4006381333931|INT-A1"],
        ["NEW-1", "Bolt M8", "box", Decimal("0.1234"), Decimal("10"), Decimal("100.5"), True, False, "96385074"],
        ["NEW-2", "Milk", None, None, None, None, "yes", "1", None],
        ["BRAVO-SKU-1", "Ours, not bravo's", None, "7", None, None, None, None, None],
    ])
    run = apply(world.alpha, "items", path)

    assert (run.status, run.rows_total, run.rows_ok, run.rows_bad, run.errors, run.dry_run) == (
        "applied", 4, 4, 0, [], False)
    assert run.result == {"created": 3, "updated": 1, "unchanged": 0, "barcodes_added": 2}
    items = {i.sku: i for i in Item.objects.filter(organization=world.alpha.organization)}
    rows = {sku: (i.name, i.unit, i.unit_cost, i.min_level, i.max_level, i.tracks_lots, i.tracks_expiry)
            for sku, i in items.items()}
    assert rows == {
        # An update changes what the file gives and leaves empty cells alone.
        "ALPHA-SKU-1": ("Widget, blue", "ea", Decimal("2.5"), Decimal("5"), None, False, False),
        "NEW-1": ("Bolt M8", "box", Decimal("0.1234"), Decimal("10"), Decimal("100.5"), True, False),
        "NEW-2": ("Milk", "ea", Decimal("0"), None, None, True, True),
        "BRAVO-SKU-1": ("Ours, not bravo's", "ea", Decimal("7"), None, None, False, False),
    }
    assert items["ALPHA-SKU-1"].pk == existing.pk
    codes = sorted(ItemBarcode.objects.filter(organization=world.alpha.organization)
                   .values_list("item__sku", "code", "kind"))
    assert codes == [("ALPHA-SKU-1", "4006381333931", "ean13"), ("ALPHA-SKU-1", "INT-A1", "internal"),
                     ("NEW-1", "96385074", "ean8")]
    bravo_item.refresh_from_db()
    assert (bravo_item.name, bravo_item.unit_cost) == ("bravo widget", Decimal("2.5"))
    assert ItemBarcode.objects.get(code="96385074", organization=world.bravo.organization).item == bravo_item
    event = AuditEvent.objects.filter(action__startswith="import.").get()
    assert (event.action, event.object_id, event.organization_id) == (
        "import.applied", str(run.pk), world.alpha.organization.pk)
    assert event.after == {"kind": "items", "filename": f"import.{fmt}", "rows": 4, "created": 3, "updated": 1,
                           "unchanged": 0, "barcodes_added": 2}


def test_importing_the_same_items_again_changes_nothing(world, tmp_path):
    path = make_file(tmp_path, "csv", [ITEMS, ["A-1", "Apple", "kg", "1.5", "1", "9", "false", "false", "INT-1"]])
    apply(world.alpha, "items", path)
    before = database_state(ignore=[RUNS])
    run = apply(world.alpha, "items", path)
    assert run.result == {"created": 0, "updated": 0, "unchanged": 1, "barcodes_added": 0}
    after = database_state(ignore=[RUNS])
    assert [e["action"] for e in after["audit.AuditEvent"][len(before["audit.AuditEvent"]):]] == ["import.applied"]
    assert state_without(after, "audit.AuditEvent") == state_without(before, "audit.AuditEvent")
    assert list(ImportRun.objects.values_list("status", flat=True)) == ["applied", "applied"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_one_gtin_is_one_barcode_in_a_file_too(world, tmp_path, fmt, small_batches):
    stocked(world.alpha)  # ALPHA-SKU-1 with the EAN-13 4006381333931
    path = make_file(tmp_path, fmt, [
        ITEMS,
        ["NEW-1", "x", None, None, None, None, None, None, "04006381333931"],  # ALPHA-SKU-1's, as a GTIN-14
        ["NEW-2", "x", None, None, None, None, None, None, "036000291452"],
        ["NEW-3", "x", None, None, None, None, None, None, "0036000291452"],  # NEW-2's, as 13 digits
    ])
    before = database_state()
    assert errors_of(check(world.alpha, "items", path)) == [
        (2, "barcodes", "barcode 04006381333931 is the same GTIN as 4006381333931, a barcode of item ALPHA-SKU-1"),
        (4, "barcodes", "barcode 0036000291452 appears more than once in the file (as GTIN 00036000291452)"),
    ]
    assert database_state() == before
    path = make_file(tmp_path, fmt, [
        ITEMS,
        ["NEW-2", "x", None, None, None, None, None, None, "036000291452|0036000291452"],  # one barcode
        ["ALPHA-SKU-1", "x", None, None, None, None, None, None, "04006381333931"],  # its own: nothing to add
    ])
    run = apply(world.alpha, "items", path)
    assert (run.status, run.result["barcodes_added"]) == ("applied", 1)
    assert sorted(ItemBarcode.objects.values_list("item__sku", "code", "scan_key")) == [
        ("ALPHA-SKU-1", "4006381333931", "04006381333931"), ("NEW-2", "036000291452", "00036000291452")]


def test_xlsx_numbers_are_read_as_the_decimals_they_show(world, tmp_path):
    path = make_file(tmp_path, "xlsx", [
        ITEMS,
        ["F-1", "Float cost", None, 1.25, 3, 7.5, None, None, 4006381333931],
        ["F-2", "Too fine", None, 0.00001, 0.0005, None, None, None, None],
    ])
    outcome = check(world.alpha, "items", path)
    assert errors_of(outcome) == [
        (3, "unit_cost", "0.00001 has more than 4 decimal places"),
        (3, "min_level", "0.0005 has more than 3 decimal places"),
    ]
    path = make_file(tmp_path, "xlsx", [ITEMS, ["F-1", "Float cost", None, 1.25, 3, 7.5, None, None, 4006381333931]])
    apply(world.alpha, "items", path)
    item = Item.objects.get(sku="F-1")
    assert (item.unit_cost, item.min_level, item.max_level) == (Decimal("1.25"), Decimal(3), Decimal("7.5"))
    assert list(item.barcodes.values_list("code", "kind")) == [("4006381333931", "ean13")]


# Locations --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_locations_with_parents_earlier_in_the_same_file(world, tmp_path, fmt, small_batches):
    _, a01 = stocked(world.alpha)
    path = make_file(tmp_path, fmt, [
        LOCATIONS,
        ["ALPHA-1", "Z1", "zone", "Zone 1", None, None],
        ["ALPHA-1", "Z1-A1", "aisle", None, "Z1", None],   # parent in the same batch
        ["ALPHA-1", "Z1-A1-B1", "bin", None, "Z1-A1", "BIN-0001"],  # parent in the batch before
        ["ALPHA-1", "Z1-A1-B2", None, None, "Z1-A1", None],
        ["ALPHA-2", "Z1", "ZONE", None, None, None],   # the same code in another site
        ["ALPHA-1", "A-01", None, "Bin A1", None, None],  # existing: renamed
        ["ALPHA-1", "UNDER-A01", None, None, "A-01", None],  # under an existing location
    ])
    run = apply(world.alpha, "locations", path)
    assert (run.status, run.rows_total, run.result) == ("applied", 7, {"created": 6, "updated": 1, "unchanged": 0})
    found = {(loc.site.code, loc.code): loc for loc in Location.objects.filter(
        organization=world.alpha.organization).select_related("site", "parent")}
    z1, aisle = found[("ALPHA-1", "Z1")], found[("ALPHA-1", "Z1-A1")]
    shape = {key: (loc.kind, loc.name, loc.parent.code if loc.parent else None, loc.barcode)
             for key, loc in found.items()}
    assert shape == {
        ("ALPHA-1", "A-01"): ("bin", "Bin A1", None, "ALPHA-1-A-01"),
        ("ALPHA-1", "Z1"): ("zone", "Zone 1", None, "ALPHA-1-Z1"),
        ("ALPHA-1", "Z1-A1"): ("aisle", "", "Z1", "ALPHA-1-Z1-A1"),
        ("ALPHA-1", "Z1-A1-B1"): ("bin", "", "Z1-A1", "BIN-0001"),
        ("ALPHA-1", "Z1-A1-B2"): ("bin", "", "Z1-A1", "ALPHA-1-Z1-A1-B2"),
        ("ALPHA-2", "Z1"): ("zone", "", None, "ALPHA-2-Z1"),
        ("ALPHA-1", "UNDER-A01"): ("bin", "", "A-01", "ALPHA-1-UNDER-A01"),
    }
    assert z1.path == f"/{z1.pk}/" and aisle.path == f"/{z1.pk}/{aisle.pk}/"
    assert found[("ALPHA-1", "Z1-A1-B2")].path == f"/{z1.pk}/{aisle.pk}/{found[('ALPHA-1', 'Z1-A1-B2')].pk}/"
    assert found[("ALPHA-1", "UNDER-A01")].path == f"{a01.path}{found[('ALPHA-1', 'UNDER-A01')].pk}/"
    # The subtree query the location pages use finds the imported children.
    assert set(Location.objects.filter(path__startswith=z1.path).values_list("code", flat=True)) == {
        "Z1", "Z1-A1", "Z1-A1-B1", "Z1-A1-B2"}


# Opening stock ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_opening_stock_goes_through_the_ledger(world, tmp_path, fmt, small_batches):
    actor = world.alpha.actor()
    widget, a01 = stocked(world.alpha)  # 10 at A-01 already
    b01 = location_create(actor=actor, site=world.alpha.sites[0], code="B-01")
    milk = item_create(actor=actor, sku="MILK", name="Milk", unit_cost="0.9", tracks_lots=True, tracks_expiry=True,
                       min_level="100")
    path = make_file(tmp_path, fmt, [
        STOCK,
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", Decimal("5"), None, None, None],
        ["ALPHA-1", "B-01", "ALPHA-SKU-1", Decimal("0.125"), None, None, Decimal("3")],
        ["ALPHA-1", "B-01", "MILK", Decimal("20"), "L1", date(2027, 1, 31), None],
        ["ALPHA-1", "B-01", "MILK", Decimal("4.5"), "L1", date(2027, 1, 31), None],
        ["ALPHA-1", "B-01", "MILK", 1, "L2", "2027-06-30", None],
    ])
    run = apply(world.alpha, "stock", path)
    assert (run.status, run.rows_total, run.result) == ("applied", 5, {"receipts": 5})
    on_hand = sorted(OnHand.objects.filter(organization=world.alpha.organization)
                     .values_list("item__sku", "location__code", "lot", "quantity", "expires_on"))
    assert on_hand == [
        ("ALPHA-SKU-1", "A-01", "", Decimal("15"), None),
        ("ALPHA-SKU-1", "B-01", "", Decimal("0.125"), None),
        ("MILK", "B-01", "L1", Decimal("24.5"), date(2027, 1, 31)),
        ("MILK", "B-01", "L2", Decimal("1"), date(2027, 6, 30)),
    ]
    movements = list(StockMovement.objects.filter(reason="opening stock").order_by("pk").values_list(
        "kind", "item__sku", "location__code", "lot", "quantity", "unit_cost", "expires_on", "reference", "actor"))
    admin = world.alpha.user(Role.ADMIN).pk
    ref = f"import {run.pk}"
    assert movements == [
        ("receipt", "ALPHA-SKU-1", "A-01", "", Decimal("5"), Decimal("2.5"), None, ref, admin),
        ("receipt", "ALPHA-SKU-1", "B-01", "", Decimal("0.125"), Decimal("3"), None, ref, admin),
        ("receipt", "MILK", "B-01", "L1", Decimal("20"), Decimal("0.9"), date(2027, 1, 31), ref, admin),
        ("receipt", "MILK", "B-01", "L1", Decimal("4.5"), Decimal("0.9"), date(2027, 1, 31), ref, admin),
        ("receipt", "MILK", "B-01", "L2", Decimal("1"), Decimal("0.9"), date(2027, 6, 30), ref, admin),
    ]
    assert ledger_drift(organization=world.alpha.organization) == []
    assert ledger_drift() == []
    # Levels are checked once, after the import: milk is far below its minimum of 100.
    alert = StockAlert.objects.get(item=milk)
    assert (alert.kind, alert.severity, alert.quantity, alert.site_id) == (
        "low_stock", "high", Decimal("25.5"), world.alpha.sites[0].pk)
    assert AuditEvent.objects.filter(action="import.applied").count() == 1
    assert not AuditEvent.objects.filter(action="stock.receipt", object_id__in=[
        str(m) for m in StockMovement.objects.filter(reason="opening stock").values_list("pk", flat=True)]).exists()
    assert b01.pk and widget.pk and a01.pk


# One writer per table: the import goes through the ledger's and the catalog's own rules ------------------

def _refusal(call) -> str:
    """The message of the domain error a single-path service call raises (rolled back)."""
    with pytest.raises(DomainError) as refused, transaction.atomic():
        call()
    return refused.value.detail


def test_stock_rows_are_refused_by_the_ledger_s_rules_with_the_single_path_s_messages(world, tmp_path):
    actor = world.alpha.actor()
    widget, a01 = stocked(world.alpha)
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    spare = location_archive(actor=actor, location=location_create(actor=actor, site=world.alpha.sites[0],
                                                                       code="SPARE"))
    far_site = world.alpha.sites[1]
    far = location_create(actor=actor, site=far_site, code="FAR")
    site_archive(actor=actor, site=far_site)
    far = Location.objects.select_related("site").get(pk=far.pk)
    path = make_file(tmp_path, "csv", [
        STOCK,
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "1", "", "", ""],  # good
        ["ALPHA-1", "SPARE", "ALPHA-SKU-1", "1", "", "", ""],
        ["ALPHA-1", "A-01", "MILK", "1", "", "2030-01-31", ""],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "1", "L9", "", ""],
        [far_site.code, "FAR", "ALPHA-SKU-1", "1", "", "", ""],
        ["ALPHA-1", "A-01", "NOPE", "1", "L1", "2030-01-31", ""],  # an unknown SKU with an expiry
    ])
    single = [
        _refusal(lambda: stock_receive(actor=actor, item=widget, location=spare, quantity_received="1")),
        _refusal(lambda: stock_receive(actor=actor, item=milk, location=a01, quantity_received="1",
                                       expires_on=date(2030, 1, 31))),
        _refusal(lambda: stock_receive(actor=actor, item=widget, location=a01, quantity_received="1", lot="L9")),
        _refusal(lambda: stock_receive(actor=actor, item=widget, location=far, quantity_received="1")),
    ]
    assert single == ["Location SPARE is archived", "MILK is lot-tracked: give the lot",
                      "ALPHA-SKU-1 is not lot-tracked: leave the lot empty", f"Site {far_site.code} is archived"]
    before = database_state(ignore=[RUNS])
    run = apply(world.alpha, "stock", path)
    assert (run.status, run.rows_ok, run.rows_bad) == ("invalid", 1, 5)
    assert [(e["line"], e["column"], e["reason"]) for e in run.errors] == [
        (3, "location_code", single[0]), (4, "lot", single[1]), (5, "lot", single[2]), (6, "site_code", single[3]),
        (7, "sku", "unknown SKU NOPE")]
    assert database_state(ignore=[RUNS]) == before
    assert OnHand.objects.get(item=widget, location=a01).quantity == Decimal("10")


def test_the_ledger_refuses_at_the_apply_what_the_import_s_check_does_not_see(world, tmp_path, monkeypatch):
    """The bulk entry point applies the single path's rules itself: a lot's expiry the check missed, and
    negative stock (an opening balance on a negative on-hand once negative stock is no longer allowed)."""
    from stocktrace.imports.kinds.stock import StockImporter

    actor = world.alpha.actor()
    widget, a01 = stocked(world.alpha)
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    stock_receive(actor=actor, item=milk, location=a01, quantity_received="2", lot="L1", expires_on=date(2030, 1, 31))
    monkeypatch.setattr(StockImporter, "_check_on_hand_expiry", lambda self, rows: None)
    path = make_file(tmp_path, "csv", [STOCK, ["ALPHA-1", "A-01", "ALPHA-SKU-1", "1", "", "", ""],
                                       ["ALPHA-1", "A-01", "MILK", "1", "L1", "2031-01-31", ""]])
    before = database_state(ignore=[RUNS])
    with pytest.raises(Conflict, match="^Lot L1 of MILK at A-01 expires on 2030-01-31, not 2031-01-31$"):
        apply(world.alpha, "stock", path)
    assert database_state(ignore=[RUNS]) == before
    assert ImportRun.objects.get().status == "failed"

    org = world.alpha.organization
    org.allow_negative_stock = True
    org.save()
    stock_issue(actor=actor, item=widget, location=a01, quantity_issued="15")
    org.allow_negative_stock = False
    org.save()
    path = make_file(tmp_path, "csv", [STOCK, ["ALPHA-1", "A-01", "ALPHA-SKU-1", "2", "", "", ""]])
    before = database_state(ignore=[RUNS])
    with pytest.raises(Conflict, match="^Only -5 ea of ALPHA-SKU-1 at A-01; this would leave -3$"):
        apply(world.alpha, "stock", path)
    assert database_state(ignore=[RUNS]) == before


def test_items_rows_are_refused_by_the_catalog_s_rules_with_its_messages(world, tmp_path):
    actor = world.alpha.actor()
    widget, a01 = stocked(world.alpha)  # 10 in stock, no levels, not lot-tracked
    levelled = item_create(actor=actor, sku="LEVELLED", name="Levelled", min_level="2", max_level="8")
    path = make_file(tmp_path, "csv", [
        ITEMS,
        ["GOOD-1", "Good", "", "", "1", "2", "", "", ""],
        ["NEW-1", "New", "", "", "5", "1", "", "", ""],
        ["LEVELLED", "Levelled", "", "", "9", "", "", "", ""],  # above the maximum it has
        ["ALPHA-SKU-1", "Widget", "", "", "", "", "true", "", ""],  # lot tracking, with stock
    ])
    single = [
        _refusal(lambda: item_create(actor=actor, sku="NEW-1", name="New", min_level="5", max_level="1")),
        _refusal(lambda: item_update(actor=actor, item=levelled, min_level="9")),
        _refusal(lambda: item_update(actor=actor, item=widget, tracks_lots=True)),
    ]
    assert single == ["The minimum level (5) is above the maximum (1)",
                      "The minimum level (9) is above the maximum (8)",
                      "Lot tracking can change only while the item has no stock"]
    before = database_state(ignore=[RUNS])
    outcome = check(world.alpha, "items", path)
    assert errors_of(outcome) == [(3, "min_level", single[0]), (4, "min_level", single[1]),
                                  (5, "tracks_lots", single[2])]
    run = apply(world.alpha, "items", path)
    assert (run.status, run.rows_ok, run.rows_bad, run.result) == ("invalid", 1, 3, {})
    assert database_state(ignore=[RUNS]) == before
    widget.refresh_from_db()
    levelled.refresh_from_db()
    assert (widget.tracks_lots, levelled.min_level, levelled.max_level) == (False, Decimal("2"), Decimal("8"))


def test_the_catalog_s_bulk_save_refuses_a_batch_its_check_refused(world):
    actor = world.alpha.actor()
    batch = item_batch_check(actor=actor, rows=[
        ItemRow(sku="OK-1", name="Fine"), ItemRow(sku="LOW-1", name="Low", min_level=Decimal("3.000"),
                                                  max_level=Decimal("2.000"))])
    assert batch.problems == {1: [("min_level", "The minimum level (3) is above the maximum (2)")]}
    before = database_state()
    with pytest.raises(InvalidInput, match=r"^LOW-1: The minimum level \(3\) is above the maximum \(2\)$"):
        item_save_bulk(actor=actor, batch=batch)
    assert database_state() == before
    with pytest.raises(PermissionDenied):
        item_batch_check(actor=world.alpha.actor(Role.VIEWER), rows=[ItemRow(sku="OK-1", name="Fine")])
    good = item_batch_check(actor=actor, rows=[ItemRow(sku="OK-1", name="Fine", barcodes=[
        ("INT-77", "internal", "INT-77")])], lock=True)
    assert item_save_bulk(actor=actor, batch=good) == {"created": 1, "updated": 0, "unchanged": 0,
                                                       "barcodes_added": 1}
    item = Item.objects.get(sku="OK-1")
    assert (item.name, item.unit, item.unit_cost, list(item.barcodes.values_list("code", "kind", "scan_key"))) == (
        "Fine", "ea", Decimal("0"), [("INT-77", "internal", "INT-77")])
    assert list(AuditEvent.objects.filter(action="item.save_bulk").values_list("object_repr", "after")) == [
        ("items (1 rows)", {"created": 1, "updated": 0, "unchanged": 0, "barcodes_added": 1})]


def test_locations_rows_are_refused_by_the_catalog_s_rules_with_the_single_path_s_messages(world, tmp_path):
    actor = world.alpha.actor()
    _, a01 = stocked(world.alpha)  # A-01 in ALPHA-1, barcode ALPHA-1-A-01
    here = world.alpha.sites[0]
    spare = location_archive(actor=actor, location=location_create(actor=actor, site=here, code="SPARE"))
    long_site = Site.objects.create(organization=world.alpha.organization, code="S" * 32, name="Long")
    spaced = Site.objects.create(organization=world.alpha.organization, code="OLD SITE", name="Legacy")
    closed = world.alpha.sites[1]
    site_archive(actor=actor, site=closed)
    closed.refresh_from_db()
    path = make_file(tmp_path, "csv", [
        LOCATIONS,
        ["ALPHA-1", "GOOD", "", "", "", ""],
        ["ALPHA-1", "TAKEN", "", "", "", "ALPHA-1-A-01"],  # A-01's barcode
        ["S" * 32, "L" * 32, "", "", "", ""],  # a generated barcode of 65 characters
        ["OLD SITE", "A-01", "", "", "", ""],  # a generated barcode with a space
        ["ALPHA-1", "UNDER-SPARE", "", "", "SPARE", ""],  # an archived parent
        ["ALPHA-1", "ORPHAN", "", "", "NOPE", ""],  # an unknown parent
        [closed.code, "C-09", "", "", "", ""],  # an archived site
        ["ALPHA-1", "SHELF", "shelf", "", "", ""],  # an unknown kind
        ["ALPHA-1", "A-01", "", "", "", "ALPHA-1-GOOD"],  # existing A-01 takes a barcode the file gives GOOD
    ])
    single = [
        _refusal(lambda: location_create(actor=actor, site=here, code="TAKEN", barcode="ALPHA-1-A-01")),
        _refusal(lambda: location_create(actor=actor, site=long_site, code="L" * 32)),
        _refusal(lambda: location_create(actor=actor, site=spaced, code="A-01")),
        _refusal(lambda: location_create(actor=actor, site=here, code="UNDER-SPARE", parent=spare)),
        _refusal(lambda: location_create(actor=actor, site=closed, code="C-09")),
        _refusal(lambda: location_create(actor=actor, site=here, code="SHELF", kind="shelf")),
    ]
    assert single == [
        "Barcode ALPHA-1-A-01 belongs to location A-01",
        f"The generated barcode {'S' * 32}-{'L' * 32} is longer than 64 characters; give one",
        "The generated barcode 'OLD SITE-A-01' would contain spaces (from the site code); give one",
        "The parent location SPARE is archived",
        f"Site {closed.code} is archived",
        "'shelf' is not a kind; the kinds are zone, aisle, rack, bin, other",
    ]
    before = database_state(ignore=[RUNS])
    outcome = check(world.alpha, "locations", path)
    expected = [
        (3, "barcode", single[0]), (4, "barcode", single[1]), (5, "barcode", single[2]),
        (6, "parent_code", single[3]),
        (7, "parent_code", "no location NOPE in site ALPHA-1, nor on an earlier line of the file"),
        (8, "site_code", single[4]), (9, "kind", single[5]),
        (10, "barcode", "barcode ALPHA-1-GOOD appears more than once in the file"),
    ]
    assert errors_of(outcome) == expected
    assert database_state(ignore=[RUNS]) == before
    run = apply(world.alpha, "locations", path)
    assert (run.status, run.rows_ok, run.rows_bad, run.result) == ("invalid", 1, 8, {})
    assert [(e["line"], e["column"], e["reason"]) for e in run.errors] == expected
    assert database_state(ignore=[RUNS]) == before
    a01.refresh_from_db()
    assert (a01.barcode, Location.objects.filter(code__in=["GOOD", "TAKEN"]).exists()) == ("ALPHA-1-A-01", False)


def test_the_catalog_s_location_bulk_save_applies_the_single_path_s_rules(world):
    actor = world.alpha.actor()
    _, a01 = stocked(world.alpha)
    here, there = world.alpha.sites
    batch = location_batch_check(actor=actor, rows=[
        LocationRow(site=here, code="OK-1"), LocationRow(site=here, code="BAD-1", barcode="ALPHA-1-A-01"),
        LocationRow(site=here, code="OK-1")])
    assert batch.problems == {1: [("barcode", "Barcode ALPHA-1-A-01 belongs to location A-01")],
                              2: [("code", "Location OK-1 of site ALPHA-1 is given twice")]}
    before = database_state()
    with pytest.raises(InvalidInput, match="^BAD-1: Barcode ALPHA-1-A-01 belongs to location A-01$"):
        location_save_bulk(actor=actor, batch=batch)
    assert database_state() == before
    with pytest.raises(PermissionDenied):
        location_batch_check(actor=world.alpha.actor(Role.VIEWER), rows=[LocationRow(site=here, code="OK-1")])
    supervisor = world.alpha.actor(Role.SUPERVISOR)  # assigned to the first site only
    assert location_batch_check(actor=supervisor, rows=[LocationRow(site=there, code="OK-1")]).problems == {
        0: [("site", f"You are not assigned to site {there.code}")]}
    good = location_batch_check(actor=actor, lock=True, rows=[
        LocationRow(site=here, code="Z", kind="zone", name=" Zone "),
        LocationRow(site=here, code="Z-1", parent_code="Z", barcode="ZED-1"),
        LocationRow(site=here, code="Z-1-1", kind="bin", parent_code="Z-1"),
        LocationRow(site=here, code="UNDER-A01", parent_code="A-01"),
        LocationRow(site=here, code="A-01", name="Renamed", parent_code=""),
    ])
    assert good.clean
    assert location_save_bulk(actor=actor, batch=good) == {"created": 4, "updated": 1, "unchanged": 0}
    found = {loc.code: loc for loc in Location.objects.filter(organization=world.alpha.organization)}
    z, z1, z11, under = found["Z"], found["Z-1"], found["Z-1-1"], found["UNDER-A01"]
    assert [(loc.kind, loc.name, loc.barcode, loc.parent_id, loc.path) for loc in (z, z1, z11, under)] == [
        ("zone", "Zone", "ALPHA-1-Z", None, f"/{z.pk}/"),
        ("bin", "", "ZED-1", z.pk, f"/{z.pk}/{z1.pk}/"),
        ("bin", "", "ALPHA-1-Z-1-1", z1.pk, f"/{z.pk}/{z1.pk}/{z11.pk}/"),
        ("bin", "", "ALPHA-1-UNDER-A01", a01.pk, f"{a01.path}{under.pk}/"),
    ]
    assert found["A-01"].name == "Renamed"
    assert list(AuditEvent.objects.filter(action="location.save_bulk").values_list("object_repr", "after")) == [
        ("locations (5 rows)", {"created": 4, "updated": 1, "unchanged": 0})]
    # A location created after this one by the single path follows the same sequence of ids.
    after = location_create(actor=actor, site=here, code="LATER")
    assert after.pk > z11.pk and after.path == f"/{after.pk}/"


# Bad rows ---------------------------------------------------------------------------------------------------

def _bad_world(world):
    actor = world.alpha.actor()
    stocked(world.alpha)
    stocked(world.bravo)
    location_create(actor=actor, site=world.alpha.sites[0], code="Z1", kind="zone")
    location_create(actor=actor, site=world.alpha.sites[0], code="Z2", kind="zone")
    z1 = Location.objects.get(code="Z1")
    location_create(actor=actor, site=world.alpha.sites[0], code="UNDER-Z1", parent=z1)
    item_create(actor=actor, sku="LOTTED", name="Lotted", tracks_lots=True, tracks_expiry=True)


BAD_FILES = {
    "items": (ITEMS, [
        ["", "No SKU", None, None, None, None, None, None, None],
        ["HAS SPACE", "x", None, None, None, None, None, None, None],
        ["LONG", "n" * 201, None, None, None, None, None, None, None],
        ["COST-1", "x", None, "1.23456", None, None, None, None, None],
        ["COST-2", "x", None, "-1", None, None, None, None, None],
        ["COST-3", "x", None, "1,5", None, None, None, None, None],
        ["LEVEL-1", "x", None, None, "1.0005", "-2", None, None, None],
        ["LEVEL-2", "x", None, None, "5", "1", None, None, None],
        ["ALPHA-SKU-1", "x", None, None, None, "0.5", None, None, None],   # existing minimum is none: fine
        ["FLAG", "x", None, None, None, None, "maybe", None, None],
        ["CODE-1", "x", None, None, None, None, None, None, "4006381333932"],
        ["CODE-2", "x", None, None, None, None, None, None, "4006381333931"],
        ["CODE-3", "x", None, None, None, None, None, None, "INT-9|INT-9|has space"],
        ["DUP", "x", None, None, None, None, None, None, "INT-7"],
        ["DUP", "again", None, None, None, None, None, None, "INT-7"],
        ["UNIT", "", "u" * 17, None, None, None, None, None, None],
        ["EXTRA", "x", None, None, None, None, None, None, None, "surplus"],
    ], [
        (2, "sku", "required"),
        (3, "sku", "sku needs 1–64 characters without spaces: A–Z, a–z, 0–9 and ASCII punctuation"),
        (4, "name", "at most 200 characters (this has 201)"),
        (5, "unit_cost", "1.23456 has more than 4 decimal places"),
        (6, "unit_cost", "Money cannot be negative"),
        (7, "unit_cost", "'1,5' is not a number (write it like 12 or 12.5, with a point)"),
        (8, "min_level", "1.0005 has more than 3 decimal places"),
        (8, "max_level", "cannot be negative"),
        (9, "min_level", "The minimum level (5) is above the maximum (1)"),
        (11, "tracks_lots", "'maybe' is not true or false (write true/false, yes/no or 1/0)"),
        (12, "barcodes", "4006381333932: 4006381333932 has a wrong check digit (expected 1)"),
        (13, "barcodes", "barcode 4006381333931 belongs to item ALPHA-SKU-1"),
        (14, "barcodes", "has space: An internal code is 1–64 printable characters without spaces"),
        (16, "sku", "SKU DUP appears more than once in the file"),
        (16, "barcodes", "barcode INT-7 appears more than once in the file"),
        (17, "name", "required"),
        (17, "unit", "at most 16 characters (this has 17)"),
        (18, "", "this row has more values than the header has columns (9)"),
    ]),
    "locations": (LOCATIONS, [
        ["BRAVO-1", "X", None, None, None, None],
        ["ALPHA-1", "K", "shelf", None, None, None],
        ["ALPHA-1", "CHILD", None, None, "LATER", None],
        ["ALPHA-1", "LATER", "zone", None, None, None],
        ["ALPHA-1", "SELF", None, None, "SELF", None],
        ["ALPHA-1", "TWICE", None, None, None, None],
        ["ALPHA-2", "TWICE", None, None, None, None],
        ["ALPHA-1", "TWICE", None, None, None, None],
        ["ALPHA-1", "TAKEN", None, None, None, "ALPHA-1-A-01"],
        ["ALPHA-1", "UNDER-Z1", None, None, "Z2", None],
        ["ALPHA-1", "SAME-1", None, None, None, "SHARED"],
        ["ALPHA-1", "SAME-2", None, None, None, "SHARED"],
        ["", "", None, None, None, None, "x"],
    ], [
        (2, "site_code", "unknown site BRAVO-1"),
        (3, "kind", "'shelf' is not a kind; the kinds are zone, aisle, rack, bin, other"),
        (4, "parent_code", "no location LATER in site ALPHA-1, nor on an earlier line of the file"),
        (6, "parent_code", "a location cannot be its own parent"),
        (9, "code", "location TWICE of site ALPHA-1 appears more than once in the file"),
        (10, "barcode", "Barcode ALPHA-1-A-01 belongs to location A-01"),
        (11, "parent_code", "location UNDER-Z1 exists under Z1; an import does not move locations (use Move)"),
        (13, "barcode", "barcode SHARED appears more than once in the file"),
        (14, "", "this row has more values than the header has columns (6)"),
        (14, "site_code", "required"),
        (14, "code", "required"),
    ]),
    "stock": (STOCK, [
        ["ALPHA-1", "A-01", "BRAVO-SKU-1", "1", None, None, None],
        ["BRAVO-1", "A-01", "ALPHA-SKU-1", "1", None, None, None],
        ["ALPHA-1", "NOWHERE", "ALPHA-SKU-1", "1", None, None, None],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "0", None, None, None],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "-3", None, None, None],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "1.2345", None, None, None],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "", None, None, None],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "1", "L1", None, None],
        ["ALPHA-1", "A-01", "LOTTED", "1", None, "2027-01-01", None],
        ["ALPHA-1", "A-01", "LOTTED", "1", "L1", None, None],
        ["ALPHA-1", "A-01", "LOTTED", "1", "L1", "2027-13-01", None],
        ["ALPHA-1", "A-01", "LOTTED", "1", "L2", "2027-01-01", None],
        ["ALPHA-1", "A-01", "LOTTED", "1", "L2", "2027-02-01", None],
        ["ALPHA-1", "A-01", "ALPHA-SKU-1", "1", None, None, "0.00001"],
    ], [
        (2, "sku", "unknown SKU BRAVO-SKU-1"),
        (3, "site_code", "unknown site BRAVO-1"),
        (4, "location_code", "unknown location NOWHERE in site ALPHA-1"),
        (5, "quantity", "The quantity cannot be zero"),
        (6, "quantity", "must be more than zero"),
        (7, "quantity", "1.2345 has more than 3 decimal places"),
        (8, "quantity", "required"),
        (9, "lot", "ALPHA-SKU-1 is not lot-tracked: leave the lot empty"),
        (10, "lot", "LOTTED is lot-tracked: give the lot"),
        (11, "expires_on", "LOTTED tracks expiry: give the expiry date"),
        (12, "expires_on", "'2027-13-01' is not a date (write it as YYYY-MM-DD)"),
        (14, "expires_on", "Lot L2 of LOTTED at A-01 expires on 2027-01-01 (line 13), not 2027-02-01"),
        (15, "unit_cost", "0.00001 has more than 4 decimal places"),
    ]),
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_every_bad_row_is_reported_with_line_column_and_reason_and_nothing_is_written(
        world, tmp_path, kind, fmt, small_batches):
    _bad_world(world)
    header, rows, expected = BAD_FILES[kind]
    path = make_file(tmp_path, fmt, [header, *rows])
    before = database_state()
    outcome = check(world.alpha, kind, path)
    assert errors_of(outcome) == expected
    assert outcome.rows_total == len(rows)
    assert outcome.rows_bad == len({line for line, _, _ in expected})
    assert database_state() == before

    run = apply(world.alpha, kind, path)
    assert (run.status, run.rows_bad, run.result) == ("invalid", outcome.rows_bad, {})
    assert [(e["line"], e["column"], e["reason"]) for e in run.errors] == expected
    assert database_state(ignore=[RUNS]) == state_without(before, RUNS)
    assert list(ImportRun.objects.values_list("pk", flat=True)) == [run.pk]  # the refusal, recorded on its run


@pytest.mark.parametrize(("rows", "expected"), [
    ([["sku", "name", "colour"]], [(1, "colour", "unknown column; the columns of items files are sku, name, unit, "
                                                 "unit_cost, min_level, max_level, tracks_lots, tracks_expiry, "
                                                 "barcodes")]),
    ([["sku", "unit"]], [(1, "name", "this column is missing (it is required)")]),
    ([["SKU", "Name", "sku"]], [(1, "sku", "this column appears twice")]),
    ([["sku", "", "name"]], [(1, "#2", "this column has no name")]),
    ([], [(1, "", "the file is empty: its first row must name the columns")]),
])
def test_header_problems_stop_the_check(world, tmp_path, rows, expected):
    path = make_file(tmp_path, "csv", [*rows, ["X-1", "Thing", "red"]] if rows else [])
    outcome = check(world.alpha, "items", path)
    assert (errors_of(outcome), outcome.rows_total) == (expected, 0)


def test_columns_may_come_in_any_order_and_blank_lines_are_skipped(world, tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes("\ufeffName,SKU\r\nÄpfel,APL-1\r\n\r\n,,\r\n\"Two\nlines\",TWO-1\r\nBad,\r\n".encode())
    outcome = check(world.alpha, "items", path)
    assert (outcome.rows_total, errors_of(outcome)) == (3, [(7, "sku", "required")])


def test_a_file_that_is_not_utf8_is_refused_at_its_line(world, tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"sku,name\nA-1,Apple\nB-1,Caf\xe9\nC-1,Cherry\n")
    outcome = check(world.alpha, "items", path)
    assert errors_of(outcome) == [
        (3, "", "the file is not UTF-8 text (byte 8 of the line); save it as 'CSV UTF-8'")]
    assert outcome.rows_total == 1


def test_nul_characters_are_refused_in_the_check(world, tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"sku,name\nA-1,Apple\nB-1,Ba\x00d\n")
    assert errors_of(check(world.alpha, "items", path)) == [(3, "name", "contains a NUL character")]


def test_a_file_that_is_not_a_workbook_is_refused(world, tmp_path):
    path = tmp_path / "items.xlsx"
    path.write_bytes(b"sku,name\nA-1,Apple\n")
    outcome = check(world.alpha, "items", path)
    assert len(outcome.errors) == 1
    assert outcome.errors[0]["line"] == 1 and outcome.errors[0]["reason"].startswith("this is not an XLSX workbook")


def test_only_the_first_thousand_errors_are_kept_but_all_are_counted(world, tmp_path):
    path = make_file(tmp_path, "csv", [ITEMS, *[[f"S-{n}", "", "", "", "", "", "", "", ""] for n in range(1500)]])
    outcome = check(world.alpha, "items", path)
    assert (len(outcome.errors), outcome.errors_omitted, outcome.rows_bad) == (1000, 500, 1500)
    assert outcome.errors[-1] == {"line": 1001, "column": "name", "reason": "required"}


# All or nothing ---------------------------------------------------------------------------------------------

def test_a_bad_row_at_the_end_means_nothing_is_applied(world, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_SIZE", 50)
    stocked(world.alpha)
    rows = [[f"BULK-{n:04}", f"Bulk {n}", "", "1.5", "", "", "", "", f"INT-{n}"] for n in range(1000)]
    rows.append(["ALPHA-SKU-1", "Renamed", "", "", "", "", "", "", "4006381333932"])
    path = make_file(tmp_path, "csv", [ITEMS, *rows])
    before = database_state(ignore=[RUNS])
    run = apply(world.alpha, "items", path)
    assert (run.status, run.rows_total, run.rows_ok, run.rows_bad) == ("invalid", 1001, 1000, 1)
    assert database_state(ignore=[RUNS]) == before

    # Found only while applying (the data changed after the check): the batches written are rolled back.
    apply_pass = engine.import_pass
    calls = []

    def second_pass_finds_a_conflict(importer, *args, **kwargs):
        calls.append(importer.writing)
        if importer.writing:
            Item.objects.create(organization=world.alpha.organization, sku="LATE", name="Late")
            ItemBarcode.objects.create(organization=world.alpha.organization, item=Item.objects.get(sku="LATE"),
                                       code="INT-999", kind="internal")
        return apply_pass(importer, *args, **kwargs)

    monkeypatch.setattr("stocktrace.imports.services.import_pass", second_pass_finds_a_conflict)
    path = make_file(tmp_path, "csv", [ITEMS, *rows[:-1]])
    run = apply(world.alpha, "items", path)
    assert calls == [False, True]
    assert (run.status, run.rows_bad) == ("invalid", 1)
    assert run.errors == [{"line": 1001, "column": "barcodes", "reason": "barcode INT-999 belongs to item LATE"}]
    assert run.message == "The data changed since the check and rows are now refused; nothing was applied"
    assert database_state(ignore=[RUNS]) == before
    assert list(ImportRun.objects.values_list("status", flat=True)) == ["invalid", "invalid"]


def test_a_crash_while_applying_rolls_everything_back_and_marks_the_run_failed(world, tmp_path, monkeypatch):
    from stocktrace.imports.kinds.items import ItemsImporter

    monkeypatch.setattr(engine, "BATCH_SIZE", 2)
    original = ItemsImporter.write
    written = []

    def write_then_crash(self, rows):
        original(self, rows)
        written.append(len(rows))
        if len(written) == 2:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(ItemsImporter, "write", write_then_crash)
    path = make_file(tmp_path, "csv", [ITEMS, *[[f"C-{n}", "C", "", "", "", "", "", "", ""] for n in range(5)]])
    before = database_state(ignore=[RUNS])
    with pytest.raises(RuntimeError):
        apply(world.alpha, "items", path)
    assert written == [2, 2]
    assert database_state(ignore=[RUNS]) == before
    run = ImportRun.objects.get()
    assert (run.status, run.message) == ("failed", "RuntimeError: disk on fire")


# Round trip, tenants, permissions ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_another_organization_gives_the_same_data(world, tmp_path, fmt):
    actor = world.alpha.actor()
    stocked(world.alpha)
    zone = location_create(actor=actor, site=world.alpha.sites[0], code="Z", kind="zone", name="Zone Z")
    location_create(actor=actor, site=world.alpha.sites[0], code="Z-1", parent=zone, barcode="ZED-1")
    milk = item_create(actor=actor, sku="MILK", name="Milk, 1 l", unit_cost="0.9", min_level="2", max_level="50",
                       tracks_lots=True, tracks_expiry=True, barcodes=["96385074", "MILK-INT"])
    from stocktrace.inventory.services.ledger import stock_receive

    stock_receive(actor=actor, item=milk, location=Location.objects.get(code="Z-1"), quantity_received="7.25",
                  lot="L9", expires_on=date(2027, 3, 1))
    charlie = Organization.objects.create(name="Charlie", slug="charlie")
    Site.objects.create(organization=charlie, code="ALPHA-1", name="Same code")
    charlie_actor = Actor.system(charlie)
    exported = {}
    for kind in ("items", "locations", "stock"):
        path = tmp_path / f"{kind}.{fmt}"
        call_command("export", kind, str(path), organization="alpha", stderr=io.StringIO())
        exported[kind] = _read(path, fmt)
        run = import_file_apply(actor=charlie_actor, kind=kind, path=path, fmt=fmt)
        assert run.status == "applied", run.errors
    for kind in ("items", "locations", "stock"):
        path = tmp_path / f"{kind}-again.{fmt}"
        call_command("export", kind, str(path), organization="charlie", stderr=io.StringIO())
        assert _read(path, fmt) == exported[kind]
    # Parents come first (the re-import above relies on it); siblings follow their ids' path order.
    assert sorted(exported["locations"][1:]) == [
        ["ALPHA-1", "A-01", "bin", "", "", "ALPHA-1-A-01"],
        ["ALPHA-1", "Z", "zone", "Zone Z", "", "ALPHA-1-Z"],
        ["ALPHA-1", "Z-1", "bin", "", "Z", "ZED-1"],
    ]
    assert ledger_drift(organization=charlie) == []


def _read(path: Path, fmt: str) -> list[list[str]]:
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))
    workbook = load_workbook(path, read_only=True)
    rows = [[_text(v) for v in row] for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


def test_only_admins_import_and_export(world, tmp_path):
    path = make_file(tmp_path, "csv", [ITEMS, ["P-1", "P", "", "", "", "", "", "", ""]])
    for role in (Role.SUPERVISOR, Role.COUNTER, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            import_check(actor=world.alpha.actor(role), kind="items", path=path, fmt="csv")
        with pytest.raises(PermissionDenied):
            import_upload(actor=world.alpha.actor(role), kind="items", filename="p.csv", chunks=[b"sku,name\n"])
    assert not ImportRun.objects.exists()
    assert not (tmp_path / "var" / "imports").exists() or not any((tmp_path / "var" / "imports").rglob("*.csv"))


def test_a_job_of_someone_who_lost_the_admin_role_fails_without_writing(world, client_as):
    client = client_as(world.alpha, Role.ADMIN)
    response = api(client, "POST", "/imports/text", {"kind": "items", "content": "sku,name\nX-1,X\n",
                                                     "dry_run": False})
    assert response.status_code == 202
    membership = world.alpha.members[Role.ADMIN]
    membership.role = Role.SUPERVISOR
    membership.save()
    before = database_state()
    run_worker()
    run = ImportRun.objects.get()
    assert (run.status, run.message) == ("failed", "Your role (supervisor) does not allow inventory.import")
    assert database_state()["inventory.Item"] == before["inventory.Item"] == []


# API --------------------------------------------------------------------------------------------------------

def test_api_upload_check_then_apply(world, client_as, settings):
    stocked(world.alpha)
    client = client_as(world.alpha, Role.ADMIN)
    bad = b"site_code,location_code,sku,quantity\nALPHA-1,A-01,ALPHA-SKU-1,2\nALPHA-1,A-01,NOPE,1\n"
    response = client.post("/api/v1/imports", {"kind": "stock", "file": _upload("stock.csv", bad)})
    assert response.status_code == 202, response.content
    body = response.json()
    run = ImportRun.objects.get(pk=body["id"])
    assert (body["status"], body["dry_run"], body["format"], body["task_id"]) == ("uploaded", True, "csv",
                                                                                  str(run.task_id))
    assert stored_path(run).read_bytes() == bad
    run_worker()
    shown = client.get(f"/api/v1/imports/{run.pk}").json()
    assert (shown["status"], shown["rows_total"], shown["rows_bad"], shown["error_count"]) == ("invalid", 2, 1, 1)
    assert shown["errors"] == [{"line": 3, "column": "sku", "reason": "unknown SKU NOPE"}]
    assert not stored_path(run).exists()  # a refused file is not kept
    refused = client.post(f"/api/v1/imports/{run.pk}/apply")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "Only a check that found no errors can be applied; this import is invalid"

    good = b"site_code,location_code,sku,quantity\nALPHA-1,A-01,ALPHA-SKU-1,2\n"
    run = ImportRun.objects.get(pk=client.post("/api/v1/imports", {"kind": "stock",
                                                                   "file": _upload("stock.csv", good)}).json()["id"])
    run_worker()
    run.refresh_from_db()
    assert (run.status, run.rows_ok) == ("valid", 1)
    assert OnHand.objects.get(location__code="A-01").quantity == Decimal("10")
    progress = JobProgress.objects.get(task_id=run.task_id)
    assert (progress.done, progress.total, progress.message) == (1, 1, "Checked 1 row: no errors; ready to apply")

    applied = client.post(f"/api/v1/imports/{run.pk}/apply")
    assert applied.status_code == 202
    assert applied.json()["status"] == "applying" and applied.json()["task_id"] != str(progress.task_id)
    run_worker()
    run.refresh_from_db()
    assert (run.status, run.result) == ("applied", {"receipts": 1})
    assert OnHand.objects.get(location__code="A-01").quantity == Decimal("12")
    assert ledger_drift() == []
    assert client.post(f"/api/v1/imports/{run.pk}/apply").status_code == 409
    assert [(e.action, e.object_id) for e in AuditEvent.objects.filter(action__startswith="import.").order_by("pk")] \
        == [("import.create", str(run.pk - 1)), ("import.create", str(run.pk)), ("import.apply", str(run.pk)),
            ("import.applied", str(run.pk))]
    listing = client.get("/api/v1/imports?limit=1").json()
    assert [r["id"] for r in listing["items"]] == [run.pk] and listing["next_cursor"]
    assert [r["id"] for r in client.get(f"/api/v1/imports?cursor={listing['next_cursor']}").json()["items"]] == [
        run.pk - 1]
    assert [r["id"] for r in client.get("/api/v1/imports?status=invalid").json()["items"]] == [run.pk - 1]


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_api_xlsx_upload_applied_directly(world, client_as, tmp_path):
    path = make_file(tmp_path, "xlsx", [LOCATIONS, ["ALPHA-1", "Z", "zone", None, None, None],
                                        ["ALPHA-1", "Z-1", None, None, "Z", None]])
    client = client_as(world.alpha, Role.ADMIN)
    response = client.post("/api/v1/imports", {"kind": "locations", "dry_run": "false",
                                               "file": _upload("Locations.XLSX", path.read_bytes())})
    assert response.status_code == 202
    assert (response.json()["format"], response.json()["dry_run"]) == ("xlsx", False)
    run_worker()
    run = ImportRun.objects.get()
    assert (run.status, run.result) == ("applied", {"created": 2, "updated": 0, "unchanged": 0})
    assert Location.objects.get(code="Z-1").parent.code == "Z"


@pytest.mark.parametrize(("data", "status", "path", "message"), [
    ({"kind": "items"}, 422, "file", "Attach the file as the form field 'file'"),
    ({"kind": "parts", "file": ("a.csv", b"sku,name\n")}, 422, "kind", "kind is one of items, locations, stock"),
    ({"kind": "items", "file": ("a.txt", b"sku,name\n")}, 422, "file",
     "The file name must end in .csv or .xlsx (or name the format)"),
    ({"kind": "items", "file": ("a.xlsx", b"sku,name\n")}, 422, "file",
     "This is not an XLSX workbook (save it as .xlsx, or upload a CSV)"),
    ({"kind": "items", "file": ("a.csv", b"")}, 422, "file", "The file is empty"),
    ({"kind": "items", "dry_run": "maybe", "file": ("a.csv", b"sku,name\n")}, 422, "dry_run",
     "dry_run is true or false"),
])
def test_api_upload_refusals_write_nothing(world, client_as, data, status, path, message):
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    form = {k: _upload(*v) if isinstance(v, tuple) else v for k, v in data.items()}
    response = client.post("/api/v1/imports", form)
    assert response.status_code == status
    assert response.json()["errors"] == [{"path": path, "message": message}]
    assert database_state() == before and not ImportRun.objects.exists()


def test_api_json_upload_is_validated(world, client_as):
    client = client_as(world.alpha, Role.ADMIN)
    response = api(client, "POST", "/imports/text", {"kind": "items", "content": "sku,name\n", "filename": "x.xlsx"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "filename"
    response = client.post("/api/v1/imports/text", "{nope", content_type="application/json")
    assert response.status_code == 400
    for body, content_type in (("kind=items", "text/plain"), ('{"kind": "items", "content": "sku,name\n"}',
                                                               "application/json")):
        response = client.post("/api/v1/imports", body, content_type=content_type)
        assert response.status_code == 415, "a file is uploaded as multipart/form-data"
    assert not ImportRun.objects.exists()


def test_api_upload_over_the_limit_is_413_and_nothing_is_kept(world, client_as, settings, tmp_path):
    settings.STOCKTRACE_IMPORT_MAX_BYTES = 1000
    client = client_as(world.alpha, Role.ADMIN)
    big = b"sku,name\n" + b"X-1,Thing\n" * 200  # 2,009 bytes: refused while it streams in
    response = client.post("/api/v1/imports", {"kind": "items", "file": _upload("big.csv", big)})
    assert response.status_code == 413
    assert response.json()["detail"] == ("Import files are limited to 1,000 bytes (STOCKTRACE_IMPORT_MAX_BYTES); "
                                         "split the file")
    huge = b"sku,name\n" + b"X-1,Thing\n" * 10_000  # declared far past the limit: refused unread
    response = client.post("/api/v1/imports", {"kind": "items", "file": _upload("huge.csv", huge)})
    assert response.status_code == 413
    assert not ImportRun.objects.exists()
    assert not list((tmp_path / "var").rglob("*.csv"))
    ok = client.post("/api/v1/imports", {"kind": "items", "file": _upload("ok.csv", b"sku,name\nX-1,Thing\n")})
    assert ok.status_code == 202


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("buffer", [1024 * 1024, 10], ids=["whole", "streamed"])
def test_api_exports_stream_in_the_import_columns(world, client_as, settings, fmt, buffer, tmp_path):
    settings.STOCKTRACE_EXPORT_BUFFER_BYTES = buffer
    stocked(world.alpha)
    stocked(world.bravo)
    item_create(actor=world.alpha.actor(), sku="B-2", name="Bee, two", barcodes=["INT-2", "12345670"])
    response = client_as(world.alpha, Role.ADMIN).get(f"/api/v1/exports/items?format={fmt}")
    assert response.status_code == 200
    assert response.streaming is (buffer == 10)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response["Content-Disposition"].startswith('attachment; filename="items-')
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(content)
    assert _read(path, fmt) == [
        ITEMS,
        ["ALPHA-SKU-1", "alpha widget", "ea", "2.5000" if fmt == "csv" else "2.5", "", "", "false", "false",
         "4006381333931"],
        ["B-2", "Bee, two", "ea", "0.0000" if fmt == "csv" else "0", "", "", "false", "false", "INT-2|12345670"],
    ]


def test_api_exports_of_locations_and_stock(world, client_as):
    stocked(world.alpha)
    client = client_as(world.alpha, Role.ADMIN)
    assert client.get("/api/v1/exports/locations").content.decode() == (
        "site_code,code,kind,name,parent_code,barcode\nALPHA-1,A-01,bin,,,ALPHA-1-A-01\n")
    assert client.get("/api/v1/exports/stock").content.decode() == (
        "site_code,location_code,sku,quantity,lot,expires_on,unit_cost\nALPHA-1,A-01,ALPHA-SKU-1,10.000,,,2.5000\n")
    assert client.get("/api/v1/exports/parts").status_code == 422
    assert client.get("/api/v1/exports/items?format=pdf").status_code == 422


def test_job_progress_is_reported_as_rows_are_checked(world, client_as, monkeypatch):
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 2)
    reports = []
    from stocktrace.imports import services

    original = services.job_progress_report
    monkeypatch.setattr(services, "job_progress_report", lambda **kw: (reports.append(kw), original(**kw)))
    content = "sku,name\n" + "".join(f"P-{n},P\n" for n in range(5))
    response = api(client_as(world.alpha, Role.ADMIN), "POST", "/imports/text",
                   {"kind": "items", "content": content, "dry_run": False})
    run_worker()
    run = ImportRun.objects.get(pk=response.json()["id"])
    assert run.status == "applied"
    assert [(r["done"], r["total"], r["message"]) for r in reports] == [
        (2, 5, "Checking: row 2 of about 5"), (4, 5, "Checking: row 4 of about 5"),
        # applying: inside the transaction, reported on PostgreSQL through a second connection only when
        # the import's transaction is the outermost (not inside a test's).
        (5, 5, "Applied 5 rows: 5 created, 0 updated, 0 unchanged, 0 barcodes added"),
    ]
    assert JobProgress.objects.get(task_id=run.task_id).organization_id == world.alpha.organization.pk


# CLI --------------------------------------------------------------------------------------------------------

def test_cli_prints_every_error_and_exits_non_zero(world, tmp_path):
    stocked(world.alpha)
    path = make_file(tmp_path, "csv", [ITEMS, ["OK-1", "Fine", "", "", "", "", "", "", ""],
                                       ["", "No sku", "", "", "", "", "", "", ""],
                                       ["OK-2", "Fine", "", "1.00001", "", "", "", "", "4006381333931"]])
    out, err = io.StringIO(), io.StringIO()
    before = database_state()
    with pytest.raises(CommandError, match="2 bad row"):
        call_command("import", "items", str(path), organization="alpha", stdout=out, stderr=err)
    assert out.getvalue().splitlines() == [
        "line 3, column sku: required",
        "line 4, column unit_cost: 1.00001 has more than 4 decimal places",
        "line 4, column barcodes: barcode 4006381333931 belongs to item ALPHA-SKU-1",
        "Checked 3 rows: 2 bad, 3 error(s). Nothing was written.",
    ]
    with pytest.raises(CommandError, match="2 bad row"):
        call_command("import", "items", str(path), organization="alpha", apply=True, stdout=io.StringIO(),
                     stderr=err)
    assert database_state(ignore=[RUNS]) == state_without(before, RUNS)
    assert list(ImportRun.objects.values_list("status", "rows_bad")) == [("invalid", 2)]


def test_cli_applies_with_a_progress_line_on_stderr(world, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 1)
    path = make_file(tmp_path, "csv", [ITEMS, *[[f"C-{n}", "C", "", "", "", "", "", "", ""] for n in range(3)]])
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "items", str(path), organization="alpha", stdout=out, stderr=err)
    assert out.getvalue() == ("Checked 3 rows: no errors. Nothing was written; run again with --apply to apply "
                              "the file.\n")
    assert "\rchecking: 1 of ~3 rows (33%)" in err.getvalue()
    assert not Item.objects.exists()
    call_command("import", "items", str(path), organization="alpha", apply=True, stdout=out, stderr=err)
    assert out.getvalue().splitlines()[-1] == "Applied 3 rows: 3 created, 0 updated, 0 unchanged, 0 barcodes added"
    assert Item.objects.count() == 3
    run = ImportRun.objects.get()
    assert (run.created_by, run.stored_name, run.dry_run) == (None, "", False)
    assert AuditEvent.objects.get(action="import.applied").actor_email == "cli"


def test_cli_refuses_unknown_organizations_files_and_formats(world, tmp_path):
    path = make_file(tmp_path, "csv", [ITEMS])
    with pytest.raises(CommandError, match="No active organization 'nope'"):
        call_command("import", "items", str(path), organization="nope")
    with pytest.raises(CommandError, match="No file"):
        call_command("import", "items", str(tmp_path / "missing.csv"), organization="alpha")
    other = tmp_path / "items.txt"
    other.write_text("sku,name\n")
    with pytest.raises(CommandError, match="must end in .csv or .xlsx"):
        call_command("import", "items", str(other), organization="alpha")
    call_command("import", "items", str(other), organization="alpha", format="csv", stdout=io.StringIO())


def test_cli_export_to_standard_output(world, capsys):
    stocked(world.alpha)
    call_command("export", "stock", "-", organization="alpha")
    assert capsys.readouterr().out == ("site_code,location_code,sku,quantity,lot,expires_on,unit_cost\n"
                                       "ALPHA-1,A-01,ALPHA-SKU-1,10.000,,,2.5000\n")


@pytest.mark.parametrize("target", ["items.csv", "items.xlsx", "-"])
def test_cli_export_shows_a_progress_line_on_stderr(world, tmp_path, monkeypatch, capsys, target):
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 1)
    for n in range(3):
        item_create(actor=world.alpha.actor(), sku=f"E-{n}", name="E")
    err = io.StringIO()
    call_command("export", "items", target if target == "-" else str(tmp_path / target), organization="alpha",
                 stderr=err)
    lines = err.getvalue().split("\n")
    assert lines[0].startswith("\rwriting: 1 rows")  # the first report; the next ones come 0.2 s apart at most
    assert lines[1:] == ([""] if target == "-" else [f"3 items rows written to {tmp_path / target}", ""])
    if target == "-":
        assert capsys.readouterr().out.count("\n") == 4  # the progress stays off the exported CSV


# Pages ------------------------------------------------------------------------------------------------------

def test_pages_upload_show_errors_then_apply(world, client_as):
    stocked(world.alpha)
    client = client_as(world.alpha, Role.ADMIN)
    page = client.get("/imports/").content.decode()
    assert 'href="/api/v1/exports/items?format=csv"' in page and "Check only" in page
    response = client.post("/imports/upload/", {"kind": "items", "dry_run": "on", "file": _upload(
        "items.csv", b"sku,name,unit_cost\nN-1,New,1.5\nN-2,,abc\n")})
    run = ImportRun.objects.get()
    assert response["Location"] == f"/imports/{run.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-progress"' in html and "Waiting for a worker" in html
    run_worker()
    html = client.get(f"/imports/{run.pk}/").content.decode()
    assert "2 errors" in html and "import-progress" not in html and ">Apply</button>" not in html
    assert "<td class=\"num\">3</td><td><code>name</code></td><td>required</td>" in html
    assert "&#x27;abc&#x27; is not a number" in html

    client.post("/imports/upload/", {"kind": "items", "dry_run": "on", "file": _upload(
        "items.csv", b"sku,name,unit_cost\nN-1,New,1.5\n")})
    run = ImportRun.objects.latest("pk")
    run_worker()
    html = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Checked 1 row: no errors; ready to apply" in html and ">Apply</button>" in html
    response = client.post(f"/imports/{run.pk}/apply/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Applying items.csv: all of it or, if anything is refused, nothing."]
    run_worker()
    html = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Applied 1 row:" in html and Item.objects.filter(sku="N-1").exists()
    listing = client.get("/imports/").content.decode()
    assert listing.count('data-run="') == 2


def test_page_upload_over_the_limit_says_so(world, client_as, settings):
    settings.STOCKTRACE_IMPORT_MAX_BYTES = 100
    client = client_as(world.alpha, Role.ADMIN)
    response = client.post("/imports/upload/", {"kind": "items", "file": _upload("big.csv", b"x" * 500)})
    assert response.status_code == 413
    assert "Import files are limited to 100 bytes" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_page_upload_checks_csrf_itself(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alpha.user(Role.ADMIN))
    response = client.post("/imports/upload/", {"kind": "items", "file": _upload("a.csv", b"sku,name\n")})
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_the_hash_set_remembers_keys_as_it_grows():
    from stocktrace.imports.hashset import HashSet

    seen = HashSet(capacity=4)
    assert [seen.add(f"SKU-{n}") for n in range(1000)] == [False] * 1000
    assert [seen.add(f"SKU-{n}") for n in range(0, 1000, 7)] == [True] * 143
    assert len(seen) == 1000 and "SKU-999" in seen and "SKU-1000" not in seen
    assert seen.add(("site", 1)) is False and ("site", 1) in seen and ("site", 2) not in seen


def test_files_of_checks_never_applied_are_forgotten(world, client_as):
    from datetime import timedelta

    from django.utils import timezone

    from stocktrace.imports.services import import_files_prune
    from tests.imports.cases import _valid_import_run

    old = ImportRun.objects.get(pk=_valid_import_run(world.alpha, Role.ADMIN, world.alpha)["run_id"])
    recent = ImportRun.objects.get(pk=_valid_import_run(world.alpha, Role.ADMIN, world.alpha)["run_id"])
    ImportRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert import_files_prune() == 1
    old.refresh_from_db()
    assert old.stored_name == "" and stored_path(recent).exists()
    response = client_as(world.alpha, Role.ADMIN).post(f"/api/v1/imports/{old.pk}/apply")
    assert response.status_code == 409
    assert response.json()["detail"] == "The file of this import is no longer kept; upload it again"


def _cli_import_until_applying(tmp_path, rows: int) -> subprocess.Popen:
    """`stocktrace import items … --apply` in a process of its own, returned once it reports applying rows."""
    path = make_file(tmp_path, "csv", [ITEMS, *[[f"K-{n:06d}", "Killed", "", "1", "", "", "", "", ""]
                                                for n in range(rows)]])
    command = stocktrace("import", "items", str(path), "--organization", "alpha", "--apply",
                         stderr=subprocess.PIPE)
    seen = b""
    while b"applying: " not in seen:
        chunk = os.read(command.stderr.fileno(), 4096)
        if not chunk:
            raise AssertionError(f"the import ended before it was seen applying: {seen[-500:]!r}")
        seen += chunk
    return command


@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.django_db(transaction=True)
def test_an_import_stopped_while_applying_leaves_nothing_applied(tmp_path, stop):
    # Power loss (SIGKILL), a service stop (SIGTERM), a dropped SSH session (SIGHUP) in the middle of the apply.
    from tests.factories import make_world

    skip_without_database_file()
    make_world()
    command = _cli_import_until_applying(tmp_path, rows=40_000)
    try:
        command.send_signal(stop)
        command.wait(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode != 0
    assert not Item.objects.exists() and not ItemBarcode.objects.exists()
    assert not AuditEvent.objects.filter(action="import.applied").exists()
    run = ImportRun.objects.get()
    if stop == signal.SIGKILL:  # nothing could run: the run says applying until the daily job a day later
        from datetime import timedelta

        from stocktrace.imports.tasks import prune_import_files

        assert run.status == ImportRun.Status.APPLYING
        ImportRun.objects.filter(pk=run.pk).update(started_at=run.started_at - timedelta(hours=25))
        assert prune_import_files.call() == {"files_pruned": 0, "interrupted_closed": 1}
        run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.message.startswith("Interrupted") and "nothing was applied" in run.message


def test_only_import_commands_stopped_a_day_ago_are_marked_interrupted(world, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from stocktrace.imports.services import imports_interrupted_close

    now = timezone.now()

    def run(status, hours_ago, task_id=None):
        return ImportRun.objects.create(organization=world.alpha.organization, kind="items", format="csv",
                                        filename="x.csv", dry_run=False, status=status, task_id=task_id,
                                        started_at=now - timedelta(hours=hours_ago))

    killed_applying, killed_checking = run("applying", 25), run("validating", 30)
    running, by_a_job, done = run("applying", 2), run("applying", 48, task_id=uuid.uuid4()), run("applied", 48)
    assert imports_interrupted_close(now=now) == 2
    statuses = dict(ImportRun.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in (killed_applying, killed_checking, running, by_a_job, done)] == [
        "failed", "failed", "applying", "applying", "applied"]
    assert imports_interrupted_close(now=now) == 0
