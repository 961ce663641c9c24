"""The stock ledger: every change of quantity is a movement, and on-hand follows in the same transaction.

Rows of on-hand are locked in primary-key order before they change, so concurrent postings on the same
stock queue up instead of losing each other's updates, and never deadlock.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from stocktrace.accounts.roles import Perm
from stocktrace.audit.services import audit_record
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.inventory.models import Item, Location, OnHand, StockMovement
from stocktrace.inventory.quantities import money, quantity
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


def post_lines(*, actor: Actor, lines: list[Line], reason: str = "", reference: str = "",
               action: str) -> list[StockMovement]:
    """Apply movements atomically: lock the affected on-hand rows in pk order, refuse negative stock unless
    the organization allows it, write the ledger lines, then raise level alerts. Call inside a transaction."""
    org = actor.organization
    for line in lines:
        if line.item.organization_id != org.pk or line.location.organization_id != org.pk:
            raise InvalidInput("Item and location must belong to your organization")
        if line.item.archived_at or line.location.archived_at:
            raise Conflict(f"{line.item.sku if line.item.archived_at else line.location.code} is archived")
        require_site(actor, line.location.site)
    keys = {(line.item.pk, line.location.pk, line.lot) for line in lines}
    OnHand.objects.bulk_create(
        [OnHand(organization=org, item_id=item_id, location_id=location_id, lot=lot,
                site_id=next(ln.location.site_id for ln in lines if ln.location.pk == location_id))
         for item_id, location_id, lot in keys],
        ignore_conflicts=True)
    # Narrow by items and locations, then keep the exact keys: one OR per key would nest too deep for SQLite
    # in large postings. The lock covers the narrowed rows, still in pk order.
    candidates = OnHand.objects.select_for_update().filter(
        item_id__in={k[0] for k in keys}, location_id__in={k[1] for k in keys}).order_by("pk")
    rows = {(r.item_id, r.location_id, r.lot): r for r in candidates if (r.item_id, r.location_id, r.lot) in keys}
    group = uuid.uuid4() if len(lines) > 1 else None
    movements = []
    for line in lines:
        row = rows[(line.item.pk, line.location.pk, line.lot)]
        row.quantity += line.delta
        if row.quantity < 0 and not org.allow_negative_stock:
            raise Conflict(f"Only {row.quantity - line.delta} {line.item.unit} of {line.item.sku} at "
                           f"{line.location.code}{' lot ' + line.lot if line.lot else ''}; "
                           f"this would leave {row.quantity}", field="quantity")
        if line.expires_on is not None:
            if row.expires_on not in (None, line.expires_on) and row.quantity - line.delta > 0:
                raise Conflict(f"Lot {line.lot} at {line.location.code} expires on {row.expires_on}, not "
                               f"{line.expires_on}", field="expires_on")
            row.expires_on = line.expires_on
        movements.append(StockMovement(
            organization=org, item=line.item, location=line.location, site_id=line.location.site_id, lot=line.lot,
            expires_on=line.expires_on or row.expires_on, kind=line.kind, quantity=line.delta,
            unit_cost=line.unit_cost, reason=reason[:200], reference=reference[:100], group=group,
            actor=actor.user))
    now = timezone.now()
    for row in rows.values():  # one or two rows: plain UPDATEs are cheaper than a bulk CASE statement
        OnHand.objects.filter(pk=row.pk).update(quantity=row.quantity, expires_on=row.expires_on, updated_at=now)
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
