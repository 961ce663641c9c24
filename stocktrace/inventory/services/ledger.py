"""The stock ledger: every change of quantity is a movement, and on-hand follows in the same transaction.

Each on-hand row is changed by one upsert that locks it until the transaction ends, taken in (item,
location, lot) order, so concurrent postings on the same stock queue up instead of losing each other's
updates, and do not deadlock.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from stocktrace.accounts.roles import Perm
from stocktrace.audit.services import audit_record
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.inventory.models import Item, Location, OnHand, StockMovement
from stocktrace.inventory.quantities import QUANTITY_STEP, money, quantity
from stocktrace.inventory.services.alerts import alerts_for_levels
from stocktrace.inventory.services.catalog import require_site
from stocktrace.tenancy.actor import Actor

Kind = StockMovement.Kind


@dataclass(frozen=True)
class Line:
    item: Item
    location: Location
    delta: Decimal
    kind: str
    lot: str = ""
    expires_on: date | None = None
    unit_cost: Decimal = Decimal(0)


def _check_lot(item: Item, lot: str, expires_on: date | None, *, receiving: bool) -> str:
    lot = (lot or "").strip()
    if item.tracks_lots and not lot:
        raise InvalidInput(f"{item.sku} is lot-tracked: give the lot", field="lot")
    if not item.tracks_lots and lot:
        raise InvalidInput(f"{item.sku} is not lot-tracked", field="lot")
    if receiving and item.tracks_expiry and expires_on is None:
        raise InvalidInput(f"{item.sku} tracks expiry: give the expiry date", field="expires_on")
    return lot


# One statement per on-hand row: create it or add to it, and read back the result. The row stays locked
# until the transaction ends. ROUND keeps SQLite (which adds decimals as doubles) exact at 3 places.
UPSERT_ON_HAND = """
INSERT INTO inventory_onhand (organization_id, item_id, location_id, site_id, lot, expires_on, quantity, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (item_id, location_id, lot) DO UPDATE SET
    quantity = ROUND(inventory_onhand.quantity + excluded.quantity, 3),
    expires_on = CASE WHEN inventory_onhand.quantity > 0 THEN COALESCE(inventory_onhand.expires_on, excluded.expires_on)
                      ELSE COALESCE(excluded.expires_on, inventory_onhand.expires_on) END,
    updated_at = excluded.updated_at
RETURNING quantity, expires_on
"""


def _apply_to_on_hand(org, lines: list[Line]) -> dict[tuple, tuple[Decimal, date | None]]:
    """Add each line to its on-hand row, in a fixed key order (so concurrent postings never deadlock);
    refuse what would go negative (unless allowed) or contradict a lot's expiry. Returns the new quantity
    and expiry per key."""
    deltas: dict[tuple, Decimal] = {}
    expiries: dict[tuple, date | None] = {}
    by_key: dict[tuple, Line] = {}
    for line in lines:
        key = (line.item.pk, line.location.pk, line.lot)
        deltas[key] = deltas.get(key, Decimal(0)) + line.delta
        expiries[key] = line.expires_on or expiries.get(key)
        by_key[key] = line
    now = timezone.now()
    balances = {}
    with connection.cursor() as cursor:
        for key in sorted(deltas):
            line, delta = by_key[key], deltas[key]
            cursor.execute(UPSERT_ON_HAND, [org.pk, key[0], key[1], line.location.site_id, key[2], expiries[key],
                                            delta, now])
            raw_quantity, raw_expiry = cursor.fetchone()
            quantity = Decimal(str(raw_quantity)).quantize(QUANTITY_STEP)
            expires_on = date.fromisoformat(raw_expiry) if isinstance(raw_expiry, str) else raw_expiry
            if quantity < 0 and not org.allow_negative_stock:
                raise Conflict(f"Only {quantity - delta} {line.item.unit} of {line.item.sku} at "
                               f"{line.location.code}{' lot ' + line.lot if line.lot else ''}; "
                               f"this would leave {quantity}", field="quantity")
            if expiries[key] is not None and expires_on != expiries[key]:
                raise Conflict(f"Lot {line.lot} at {line.location.code} expires on {expires_on}, not "
                               f"{expiries[key]}", field="expires_on")
            balances[key] = (quantity, expires_on)
    return balances


def post_lines(*, actor: Actor, lines: list[Line], reason: str = "", reference: str = "",
               action: str) -> list[StockMovement]:
    """Apply movements atomically: update the affected on-hand rows (locked, in a fixed order), refuse
    negative stock unless the organization allows it, write the ledger lines, then raise level alerts.
    Call inside a transaction: a refusal raises, and the transaction takes everything back."""
    org = actor.organization
    for line in lines:
        if line.item.organization_id != org.pk or line.location.organization_id != org.pk:
            raise InvalidInput("Item and location must belong to your organization")
        if line.item.archived_at or line.location.archived_at:
            raise Conflict(f"{line.item.sku if line.item.archived_at else line.location.code} is archived")
        require_site(actor, line.location.site)
    balances = _apply_to_on_hand(org, lines)
    group = uuid.uuid4() if len(lines) > 1 else None
    movements = [StockMovement(
        organization=org, item=line.item, location=line.location, site_id=line.location.site_id, lot=line.lot,
        expires_on=balances[(line.item.pk, line.location.pk, line.lot)][1], kind=line.kind, quantity=line.delta,
        unit_cost=line.unit_cost, reason=reason[:200], reference=reference[:100], group=group, actor=actor.user)
        for line in lines]
    StockMovement.objects.bulk_create(movements)
    audit_record(actor=actor, action=action, obj=movements[0], after={
        "lines": [{"item": ln.item.sku, "location": ln.location.code, "lot": ln.lot, "delta": ln.delta}
                  for ln in lines], "reason": reason, "reference": reference})
    alerts_for_levels(organization=org, pairs={(ln.item, ln.location.site_id) for ln in lines})
    return movements


@transaction.atomic
def stock_receive(*, actor: Actor, item: Item, location: Location, quantity_received, lot: str = "",
                  expires_on: date | None = None, unit_cost=None, reference: str = "",
                  reason: str = "") -> StockMovement:
    actor.require(Perm.STOCK_MOVE)
    amount = quantity(quantity_received)
    if amount < 0:
        raise InvalidInput("A receipt adds stock: the quantity must be positive", field="quantity")
    lot = _check_lot(item, lot, expires_on, receiving=True)
    cost = item.unit_cost if unit_cost is None else money(unit_cost)
    line = Line(item, location, amount, Kind.RECEIPT, lot, expires_on if item.tracks_expiry else None, cost)
    return post_lines(actor=actor, lines=[line], reason=reason, reference=reference, action="stock.receipt")[0]


@transaction.atomic
def stock_issue(*, actor: Actor, item: Item, location: Location, quantity_issued, lot: str = "",
                reference: str = "", reason: str = "") -> StockMovement:
    actor.require(Perm.STOCK_MOVE)
    amount = quantity(quantity_issued)
    if amount < 0:
        raise InvalidInput("An issue takes stock out: the quantity must be positive", field="quantity")
    lot = _check_lot(item, lot, None, receiving=False)
    line = Line(item, location, -amount, Kind.ISSUE, lot, None, item.unit_cost)
    return post_lines(actor=actor, lines=[line], reason=reason, reference=reference, action="stock.issue")[0]


@transaction.atomic
def stock_adjust(*, actor: Actor, item: Item, location: Location, delta, reason: str, lot: str = "",
                 expires_on: date | None = None, reference: str = "") -> StockMovement:
    """Correct stock by a signed quantity (found, damaged, lost, …); the reason is required."""
    actor.require(Perm.STOCK_ADJUST)
    amount = quantity(delta, field="delta")
    if not (reason or "").strip():
        raise InvalidInput("An adjustment needs a reason", field="reason")
    lot = _check_lot(item, lot, expires_on if amount > 0 else None, receiving=amount > 0)
    line = Line(item, location, amount, Kind.ADJUSTMENT, lot, expires_on if item.tracks_expiry else None,
                item.unit_cost)
    return post_lines(actor=actor, lines=[line], reason=reason.strip(), reference=reference,
                      action="stock.adjustment")[0]


@transaction.atomic
def stock_transfer(*, actor: Actor, item: Item, source: Location, destination: Location, quantity_moved,
                   lot: str = "", reference: str = "", reason: str = "") -> list[StockMovement]:
    """Move stock between two locations, of one site or of two: a transfer_out and a transfer_in line in
    one transaction, sharing a group id. The lot and its expiry travel with the stock."""
    actor.require(Perm.STOCK_MOVE)
    amount = quantity(quantity_moved)
    if amount < 0:
        raise InvalidInput("The quantity to move must be positive", field="quantity")
    if source.pk == destination.pk:
        raise InvalidInput("Source and destination are the same location", field="to_location_id")
    lot = _check_lot(item, lot, None, receiving=False)
    expiry = (OnHand.objects.filter(item=item, location=source, lot=lot).values_list("expires_on", flat=True)
              .first())
    lines = [Line(item, source, -amount, Kind.TRANSFER_OUT, lot, None, item.unit_cost),
             Line(item, destination, amount, Kind.TRANSFER_IN, lot, expiry, item.unit_cost)]
    return post_lines(actor=actor, lines=lines, reason=reason, reference=reference, action="stock.transfer")


@transaction.atomic
def stock_count_correct(*, actor: Actor, item: Item, location: Location, counted, lot: str = "",
                        reference: str = "", reason: str = "count") -> StockMovement | None:
    """Set stock to a counted quantity with a count_correction line (used by counts); None when it matched."""
    actor.require(Perm.STOCK_ADJUST)
    counted_quantity = quantity(counted, field="counted", allow_zero=True)
    if counted_quantity < 0:
        raise InvalidInput("A count cannot be negative", field="counted")
    lot = _check_lot(item, lot, None, receiving=False)
    current = (OnHand.objects.select_for_update().filter(item=item, location=location, lot=lot)
               .values_list("quantity", flat=True).first()) or Decimal(0)
    delta = counted_quantity - current
    if delta == 0:
        return None
    line = Line(item, location, delta, Kind.COUNT_CORRECTION, lot, None, item.unit_cost)
    return post_lines(actor=actor, lines=[line], reason=reason, reference=reference,
                      action="stock.count_correction")[0]
