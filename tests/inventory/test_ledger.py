"""The ledger as a whole: append-only, and postings racing each other on real connections (on-hand rows, and
the level alerts after them, are locked in one fixed order, so transfers in opposite directions queue up
instead of deadlocking)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from stocktrace.accounts.services import site_archive
from stocktrace.audit.models import AuditEvent
from stocktrace.core.errors import Conflict, DomainError, PermissionDenied
from stocktrace.inventory.models import Location, OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import item_create, location_archive, location_create
from stocktrace.inventory.services.ledger import (
    Receipt,
    stock_issue,
    stock_receive,
    stock_receive_bulk,
    stock_transfer,
)
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state
from tests.factories import make_world


def test_the_ledger_is_append_only_for_the_orm_and_the_database(world):
    actor = world.alpha.actor()
    location = location_create(actor=actor, site=world.alpha.sites[0], code="A-1")
    item = item_create(actor=actor, sku="A-1", name="Append")
    stock_receive(actor=actor, item=item, location=location, quantity_received="3")
    movement = StockMovement.objects.get()
    for change in (lambda: StockMovement.objects.update(quantity=Decimal("30")),
                   lambda: StockMovement.objects.all().delete(), movement.delete, movement.save):
        with pytest.raises(TypeError, match="append-only"):
            change()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stockmovement SET quantity = 30")
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [Decimal("3")]


def _race(*postings, rounds: int) -> list[Exception]:
    """Run each posting `rounds` times, all threads released together; the errors they raised."""
    barrier = threading.Barrier(len(postings))
    errors: list[Exception] = []

    def run(posting):
        barrier.wait()
        try:
            for _ in range(rounds):
                posting()
        except Exception as error:  # pragma: no cover - reported by the assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(posting,)) for posting in postings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_transfers_in_opposite_directions_at_once_neither_deadlock_nor_lose_stock():
    world = make_world()
    actor = world.alpha.actor()
    first = location_create(actor=actor, site=world.alpha.sites[0], code="EAST")
    second = location_create(actor=actor, site=world.alpha.sites[1], code="WEST")  # another site: both sites' alerts
    items = [item_create(actor=actor, sku=f"R-{n}", name=f"Racer {n}", min_level="50", max_level="150")
             for n in range(2)]
    for item in items:
        for location in (first, second):
            stock_receive(actor=actor, item=item, location=location, quantity_received="100")

    def east_to_west():  # both items in one order ...
        for item in items:
            stock_transfer(actor=actor, item=item, source=first, destination=second, quantity_moved="1")

    def west_to_east():  # ... and back in the other
        for item in reversed(items):
            stock_transfer(actor=actor, item=item, source=second, destination=first, quantity_moved="1")

    assert _race(east_to_west, west_to_east, east_to_west, west_to_east, rounds=10) == []
    for item in items:
        assert sorted(OnHand.objects.filter(item=item).values_list("quantity", flat=True)) == [
            Decimal("100"), Decimal("100")]
    assert ledger_drift() == []
    assert not StockAlert.objects.exists()  # 80 to 120 at each site: never past a level


# The bulk entry point (imports): the single path's rules, locks and writes, many lines at a time ------------

def _bulk_shop(world):
    actor = world.alpha.actor()
    bins = [location_create(actor=actor, site=world.alpha.sites[0], code=f"BK-{n}") for n in range(2)]
    bolt = item_create(actor=actor, sku="BOLT", name="Bolt", unit_cost="0.25", min_level="50", max_level="60")
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    return actor, bins, bolt, milk


def test_bulk_receipts_write_on_hand_the_ledger_an_audit_row_per_batch_and_the_level_alerts(world):
    actor, bins, bolt, milk = _bulk_shop(world)
    result = stock_receive_bulk(actor=actor, reason="opening stock", reference="R-1", batch_size=2, receipts=[
        Receipt(bolt, bins[0], Decimal("5")),
        Receipt(milk, bins[0], Decimal("2.5"), lot=" L1 ", expires_on=date(2030, 1, 31), unit_cost=Decimal("0.9")),
        Receipt(bolt, bins[0], Decimal("1.125")),
        Receipt(bolt, bins[1], Decimal("70")),
        Receipt(milk, bins[0], Decimal("1"), lot="L1", expires_on=date(2030, 1, 31)),
    ])
    assert (result.movements, result.levels_due) == (5, set())
    assert sorted(OnHand.objects.values_list("item__sku", "location__code", "lot", "quantity", "expires_on")) == [
        ("BOLT", "BK-0", "", Decimal("6.125"), None), ("BOLT", "BK-1", "", Decimal("70"), None),
        ("MILK", "BK-0", "L1", Decimal("3.5"), date(2030, 1, 31))]
    assert list(StockMovement.objects.order_by("pk").values_list(
        "kind", "item__sku", "location__code", "lot", "quantity", "unit_cost", "expires_on", "reason", "reference",
        "group", "actor")) == [
        ("receipt", "BOLT", "BK-0", "", Decimal("5"), Decimal("0.25"), None, "opening stock", "R-1", None,
         actor.user.pk),
        ("receipt", "MILK", "BK-0", "L1", Decimal("2.5"), Decimal("0.9"), date(2030, 1, 31), "opening stock",
         "R-1", None, actor.user.pk),
        ("receipt", "BOLT", "BK-0", "", Decimal("1.125"), Decimal("0.25"), None, "opening stock", "R-1", None,
         actor.user.pk),
        ("receipt", "BOLT", "BK-1", "", Decimal("70"), Decimal("0.25"), None, "opening stock", "R-1", None,
         actor.user.pk),
        ("receipt", "MILK", "BK-0", "L1", Decimal("1"), Decimal("0"), date(2030, 1, 31), "opening stock", "R-1",
         None, actor.user.pk),
    ]
    assert ledger_drift() == []
    assert list(AuditEvent.objects.filter(action="stock.receipt").order_by("pk").values_list(
        "object_repr", "after")) == [
        ("receipts (2 lines)", {"lines": 2, "reason": "opening stock", "reference": "R-1"}),
        ("receipts (2 lines)", {"lines": 2, "reason": "opening stock", "reference": "R-1"}),
        ("receipts (1 lines)", {"lines": 1, "reason": "opening stock", "reference": "R-1"})]
    # Levels are checked after each batch, as after each posting: 5 bolts after the first (below the minimum
    # of 50), 76.125 after the last (above the maximum of 60), which resolves the low-stock alert.
    assert list(StockAlert.objects.order_by("pk").values_list("kind", "item__sku", "quantity", "resolution")) == [
        ("low_stock", "BOLT", Decimal("5"), "76.125 ea on hand at the site"),
        ("excess", "BOLT", Decimal("76.125"), "")]


def _refused_alike(single, bulk) -> str:
    """Both raise the same domain error with the same message; nothing changed. The message."""
    before = database_state()
    with pytest.raises(DomainError) as by_one:
        with transaction.atomic():
            single()
    with pytest.raises(DomainError) as by_bulk:
        with transaction.atomic():
            bulk()
    assert (type(by_bulk.value), by_bulk.value.detail, by_bulk.value.field) == (
        type(by_one.value), by_one.value.detail, by_one.value.field)
    assert database_state() == before
    return by_bulk.value.detail


def test_bulk_receipts_are_refused_by_the_rules_of_a_single_receipt_and_change_nothing(world):
    actor, bins, bolt, milk = _bulk_shop(world)
    stock_receive(actor=actor, item=milk, location=bins[1], quantity_received="1", lot="L1",
                  expires_on=date(2030, 1, 31))
    good = Receipt(bolt, bins[0], Decimal("1"))

    def both(**line):
        single = {"quantity_received": line.pop("quantity", Decimal("1")), **line}
        return (lambda: stock_receive(actor=actor, **single),
                lambda: stock_receive_bulk(actor=actor, batch_size=1, receipts=[
                    good, Receipt(line["item"], line["location"], single["quantity_received"],
                                  lot=line.get("lot", ""), expires_on=line.get("expires_on"))]))

    assert _refused_alike(*both(item=milk, location=bins[0])) == "MILK is lot-tracked: give the lot"
    assert _refused_alike(*both(item=milk, location=bins[0], lot="L1")) == "MILK tracks expiry: give the expiry date"
    assert _refused_alike(*both(item=bolt, location=bins[0], lot="L1")) == (
        "BOLT is not lot-tracked: leave the lot empty")
    assert _refused_alike(*both(item=milk, location=bins[1], lot="L1", expires_on=date(2031, 1, 1))) == (
        "Lot L1 of MILK at BK-1 expires on 2030-01-31, not 2031-01-01")
    assert _refused_alike(*both(item=bolt, location=bins[0], quantity=Decimal("1.0005"))) == (
        "1.0005 has more than 3 decimal places")

    spare = location_create(actor=actor, site=world.alpha.sites[0], code="SPARE")
    location_archive(actor=actor, location=spare)
    spare.refresh_from_db()
    assert _refused_alike(*both(item=bolt, location=spare)) == "Location SPARE is archived"

    empty_site = world.alpha.sites[1]
    far = location_create(actor=actor, site=empty_site, code="FAR")
    site_archive(actor=actor, site=empty_site)
    far = Location.objects.select_related("site").get(pk=far.pk)
    assert _refused_alike(*both(item=bolt, location=far)) == f"Site {empty_site.code} is archived"


def test_a_bulk_receipt_that_would_leave_negative_stock_is_refused_like_a_single_one(world):
    actor, bins, bolt, milk = _bulk_shop(world)
    org = world.alpha.organization
    org.allow_negative_stock = True
    org.save()
    stock_issue(actor=actor, item=bolt, location=bins[0], quantity_issued="5")
    org.allow_negative_stock = False
    org.save()
    assert _refused_alike(
        lambda: stock_receive(actor=actor, item=bolt, location=bins[0], quantity_received="2"),
        lambda: stock_receive_bulk(actor=actor, receipts=[Receipt(bolt, bins[0], Decimal("2"))]),
    ) == "Only -5 ea of BOLT at BK-0; this would leave -3"


def test_bulk_lines_of_one_lot_must_agree_on_the_expiry_and_a_refused_batch_takes_back_the_caller_s_work(world):
    actor, bins, bolt, milk = _bulk_shop(world)
    before = database_state()
    with pytest.raises(Conflict) as refused, transaction.atomic():
        stock_receive_bulk(actor=actor, batch_size=2, receipts=[  # the first batch is written, then refused
            Receipt(bolt, bins[0], Decimal("1")), Receipt(bolt, bins[1], Decimal("1")),
            Receipt(milk, bins[0], Decimal("1"), lot="L1", expires_on=date(2030, 1, 31)),
            Receipt(milk, bins[0], Decimal("1"), lot="L1", expires_on=date(2030, 2, 28))])
    assert (refused.value.detail, refused.value.field) == (
        "Lot L1 of MILK at BK-0 expires on 2030-01-31 (an earlier line), not 2030-02-28", "expires_on")
    assert database_state() == before


def test_a_bulk_receipt_needs_the_permission_and_the_sites_of_a_single_one(world):
    actor, bins, bolt, milk = _bulk_shop(world)
    viewer = world.alpha.actor(Role.VIEWER)
    before = database_state()
    with pytest.raises(PermissionDenied):
        stock_receive_bulk(actor=viewer, receipts=[Receipt(bolt, bins[0], Decimal("1"))])
    assert database_state() == before
