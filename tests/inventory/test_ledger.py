"""The ledger as a whole: append-only, and postings racing each other on real connections (on-hand rows, and
the level alerts after them, are locked in one fixed order, so transfers in opposite directions queue up
instead of deadlocking)."""

import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from stocktrace.inventory.models import OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_receive, stock_transfer
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
