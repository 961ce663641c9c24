"""The stock ledger: every change of quantity is a movement, and on-hand follows in the same transaction.

Each on-hand row is changed by one upsert that locks it until the transaction ends, taken in (item,
location, lot) order, so concurrent postings on the same stock queue up instead of losing each other's
updates, and do not deadlock.
"""

import functools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from stocktrace.audit.models import AuditEvent
from stocktrace.audit.services import audit_record, audit_values
from stocktrace.core.db import insert_rows, pg_execute
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.inventory.models import Item, Location, OnHand, StockMovement
from stocktrace.inventory.permissions import STOCK_ADJUST, STOCK_MOVE
from stocktrace.inventory.quantities import QUANTITY_STEP, money, quantity, quantity_text
from stocktrace.inventory.rules import lot_check, lot_expiry_check, posting_open
from stocktrace.inventory.services.alerts import discrepancy_alert_raise, level_alerts_check
from stocktrace.inventory.services.catalog import site_access_require
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site

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
    return lot_check(item, lot, expires_on, receiving=receiving)


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


def _apply_to_on_hand(org: Organization, lines: list[Line]) -> dict[tuple[int, int, str], tuple[Decimal, date | None]]:
    """Add each line to its on-hand row, in a fixed key order (so concurrent postings never deadlock);
    refuse what would go negative (unless allowed) or contradict a lot's expiry. Returns the new quantity
    and expiry per key."""
    now = timezone.now()
    balances = {}
    with connection.cursor() as cursor:
        for key, (line, delta, expiry) in _on_hand_changes(lines).items():
            cursor.execute(UPSERT_ON_HAND, [org.pk, key[0], key[1], line.location.site_id, key[2], expiry, delta, now])
            raw_quantity, raw_expiry = cursor.fetchone()
            quantity = Decimal(str(raw_quantity)).quantize(QUANTITY_STEP)
            expires_on = date.fromisoformat(raw_expiry) if isinstance(raw_expiry, str) else raw_expiry
            _check_balance(org, line, delta, quantity, expires_on, expiry)
            balances[key] = (quantity, expires_on)
    return balances


def _on_hand_changes(lines: list[Line]) -> dict[tuple[int, int, str], tuple[Line, Decimal, date | None]]:
    """Per on-hand key (item, location, lot), in the fixed lock order: a line of it, the summed delta, and
    the expiry the lines bring."""
    changes: dict[tuple[int, int, str], tuple[Line, Decimal, date | None]] = {}
    for line in lines:
        key = (line.item.pk, line.location.pk, line.lot)
        _, delta, expiry = changes.get(key, (line, Decimal(0), None))
        changes[key] = (line, delta + line.delta, line.expires_on or expiry)
    return dict(sorted(changes.items()))


def _check_balance(org: Organization, line: Line, delta: Decimal, quantity: Decimal, expires_on: date | None,
                   wanted_expiry: date | None) -> None:
    if quantity < 0 and not org.allow_negative_stock:
        raise Conflict(f"Only {quantity_text(quantity - delta)} {line.item.unit} of {line.item.sku} at "
                       f"{line.location.code}{' lot ' + line.lot if line.lot else ''}; "
                       f"this would leave {quantity_text(quantity)}", field="quantity")
    lot_expiry_check(line.item, line.location, line.lot, expires_on, wanted_expiry)


def stock_lines_post(*, actor: Actor, lines: list[Line], reason: str = "", reference: str = "",
               action: str) -> list[StockMovement]:
    """Apply movements atomically: update the affected on-hand rows (locked, in a fixed order), refuse
    negative stock unless the organization allows it, write the ledger lines and the audit row, then raise
    level alerts. Call inside a transaction: a refusal raises, and the transaction takes everything back."""
    org = actor.organization
    for line in lines:
        if line.item.organization_id != org.pk or line.location.organization_id != org.pk:
            raise InvalidInput("Item and location must belong to your organization")
        posting_open(line.item, line.location, line.location.site)
        site_access_require(actor, line.location.site)
    now = timezone.now()
    group = uuid.uuid4() if len(lines) > 1 else None
    movements = [StockMovement(
        organization=org, item=line.item, location=line.location, site_id=line.location.site_id, lot=line.lot,
        kind=line.kind, quantity=line.delta, unit_cost=line.unit_cost, reason=reason[:200],
        reference=reference[:100], group=group, actor=actor.user, created_at=now)
        for line in lines]
    audit_after = {"lines": [{"item": ln.item.sku, "location": ln.location.code, "lot": ln.lot, "delta": ln.delta}
                             for ln in lines], "reason": reason, "reference": reference}
    if connection.vendor == "postgresql" and len(lines) <= ONE_STATEMENT_MAX_LINES:
        _post_in_one_statement(actor, lines, movements, action=action, audit_after=audit_after, now=now)
    else:
        balances = _apply_to_on_hand(org, lines)
        for line, movement in zip(lines, movements, strict=True):
            movement.expires_on = balances[(line.item.pk, line.location.pk, line.lot)][1]
        StockMovement.objects.bulk_create(movements)
        audit_record(actor=actor, action=action, obj=movements[0], after=audit_after)
    level_alerts_check(organization=org, pairs={(ln.item, ln.location.site_id) for ln in lines})
    return movements


# PostgreSQL: the on-hand upserts (in the fixed key order: the INSERT takes its rows sorted), the ledger lines
# (each with its on-hand row's expiry) and the audit row, in one statement. The balances come back to be
# checked; a refusal raises and the caller's transaction rolls it all back. Scalar parameters in VALUES
# lists: psycopg dumps them several times faster than arrays.
ONE_STATEMENT_MAX_LINES = 100  # 20 parameters a line: far below PostgreSQL's 65,535 per statement


@functools.lru_cache(maxsize=64)
def _one_statement_sql(keys: int, lines: int) -> str:
    on_hand_rows = ", ".join(f"(%(k{n}_0)s::bigint, %(k{n}_1)s::bigint, %(k{n}_2)s::bigint, %(k{n}_3)s::text, "
                             f"%(k{n}_4)s::date, %(k{n}_5)s::numeric)" for n in range(keys))
    line_rows = ", ".join(f"({n}, %(l{n}_0)s::bigint, %(l{n}_1)s::bigint, %(l{n}_2)s::bigint, %(l{n}_3)s::text, "
                          f"%(l{n}_4)s::text, %(l{n}_5)s::numeric, %(l{n}_6)s::numeric)" for n in range(lines))
    on_conflict = UPSERT_ON_HAND[UPSERT_ON_HAND.index("ON CONFLICT"):UPSERT_ON_HAND.index("RETURNING")]
    return f"""
WITH on_hand AS (
    INSERT INTO inventory_onhand (organization_id, item_id, location_id, site_id, lot, expires_on, quantity,
                                  updated_at)
    SELECT %(org)s, item_id, location_id, site_id, lot, expires_on, delta, %(now)s
    FROM (VALUES {on_hand_rows}) AS k (item_id, location_id, site_id, lot, expires_on, delta)
    ORDER BY item_id, location_id, lot
    {on_conflict}
    RETURNING item_id, location_id, lot, quantity, expires_on
), movement AS (
    INSERT INTO inventory_stockmovement (organization_id, item_id, location_id, site_id, lot, expires_on, kind,
        quantity, unit_cost, reason, reference, "group", actor_id, created_at)
    SELECT %(org)s, line.item_id, line.location_id, line.site_id, line.lot, on_hand.expires_on, line.kind,
           line.quantity, line.unit_cost, %(reason)s, %(reference)s, %(group)s::uuid, %(actor)s::bigint, %(now)s
    FROM (VALUES {line_rows}) AS line (n, item_id, location_id, site_id, lot, kind, quantity, unit_cost)
    JOIN on_hand USING (item_id, location_id, lot)
    ORDER BY line.n
    RETURNING id
), audit AS (
    INSERT INTO audit_auditevent (organization_id, actor_id, actor_email, token_prefix, action, object_type,
        object_id, object_repr, before, after, ip, device, created_at)
    SELECT %(org)s, %(actor)s::bigint, %(a_email)s, %(a_token)s, %(a_action)s, %(a_type)s,
           (SELECT min(id) FROM movement)::text, %(a_repr)s, NULL, %(a_after)s::jsonb, %(a_ip)s::inet,
           %(a_device)s, %(now)s
)
SELECT 0, item_id, location_id, lot, quantity, expires_on FROM on_hand
UNION ALL
SELECT id, NULL, NULL, NULL, NULL, NULL FROM movement"""


def _post_in_one_statement(actor: Actor, lines: list[Line], movements: list[StockMovement], *, action: str,
                           audit_after: dict[str, Any], now: datetime) -> None:
    changes = _on_hand_changes(lines)
    audit = audit_values(actor=actor, action=action, object_type=StockMovement._meta.label_lower, object_id="",
                         object_repr=str(movements[0]), after=audit_after)
    first = movements[0]
    params: dict[str, Any] = {
        "org": actor.organization.pk, "now": now, "reason": first.reason, "reference": first.reference,
        "group": first.group, "actor": first.actor_id, "a_email": audit["actor_email"],
        "a_token": audit["token_prefix"], "a_action": audit["action"], "a_type": audit["object_type"],
        "a_repr": audit["object_repr"], "a_after": json.dumps(audit["after"]), "a_ip": audit["ip"],
        "a_device": audit["device"],
    }
    value: object  # a column's parameter
    for n, ((item_id, location_id, lot), (line, delta, expiry)) in enumerate(changes.items()):
        for column, value in enumerate((item_id, location_id, line.location.site_id, lot, expiry, delta)):
            params[f"k{n}_{column}"] = value
    for n, ln in enumerate(lines):
        for column, value in enumerate((ln.item.pk, ln.location.pk, ln.location.site_id, ln.lot, ln.kind, ln.delta,
                                        ln.unit_cost)):
            params[f"l{n}_{column}"] = value
    rows = pg_execute(_one_statement_sql(len(changes), len(lines)), params).fetchall()
    balances = {(item_id, location_id, lot): (quantity, expires_on)
                for movement_id, item_id, location_id, lot, quantity, expires_on in rows if not movement_id}
    for key, (line, delta, expiry) in changes.items():
        quantity, expires_on = balances[key]
        _check_balance(actor.organization, line, delta, quantity, expires_on, expiry)
    # The ids come from one sequence in insertion order, and the rows were inserted in line order.
    ids = sorted(movement_id for movement_id, *_ in rows if movement_id)
    for line, movement, movement_id in zip(lines, movements, ids, strict=True):
        movement.pk = movement_id
        movement.expires_on = balances[(line.item.pk, line.location.pk, line.lot)][1]
        movement._state.adding = False


# Bulk receipts ---------------------------------------------------------------------------------------------

BULK_BATCH = 2000  # lines per statement and per transaction of stock_receive_bulk


@dataclass(frozen=True)
class Receipt:
    """One line of a bulk receipt (`stock_receive_bulk`). `unit_cost` None: the item's."""
    item: Item
    location: Location
    quantity: Decimal
    lot: str = ""
    expires_on: date | None = None
    unit_cost: Decimal | None = None


@dataclass
class BulkReceived:
    movements: int = 0
    # (item id, site id) of the items with levels that the receipts touched, when the caller checks them
    # itself (`check_levels=False`), with `stock_levels_check` once it is done.
    levels_due: set[tuple[int, int]] = field(default_factory=set)


def receipt_line(*, actor: Actor, receipt: Receipt) -> Line:
    """The ledger line of one receipt, after the rules of a single receipt (`stock_receive`): the item and
    location belong to the organization and are not archived, nor is the site; a positive quantity of at
    most 3 places; the lot and expiry rules; the cost in money. Raises the first rule broken. The location's
    `site` must be loaded (it is read, not queried, per line)."""
    item, location = receipt.item, receipt.location
    org_id = actor.organization.pk
    if item.organization_id != org_id or location.organization_id != org_id:
        raise InvalidInput("Item and location must belong to your organization")
    posting_open(item, location, location.site)
    amount = quantity(receipt.quantity)
    if amount < 0:
        raise InvalidInput("A receipt adds stock: the quantity must be positive", field="quantity")
    lot = lot_check(item, receipt.lot, receipt.expires_on, receiving=True)
    cost = item.unit_cost if receipt.unit_cost is None else money(receipt.unit_cost)
    return Line(item, location, amount, Kind.RECEIPT, lot, receipt.expires_on if item.tracks_expiry else None, cost)


def on_hand_expiries(*, organization: Organization,
                     keys: set[tuple[int, int, str]]) -> dict[tuple[int, int, str], date]:
    """The expiry of each of these (item, location, lot) that is in stock with one: what a receipt of the
    lot there must agree with (`lot_expiry_check`)."""
    if not keys:
        return {}
    rows = OnHand.objects.filter(
        organization=organization, item_id__any={k[0] for k in keys}, location_id__any={k[1] for k in keys},
        quantity__gt=0, expires_on__isnull=False).values_list("item_id", "location_id", "lot", "expires_on")
    return {(i, loc, lot): day for i, loc, lot, day in rows if (i, loc, lot) in keys and day is not None}


def stock_receive_bulk(*, actor: Actor, receipts: Iterable[Receipt], reason: str = "", reference: str = "",
                       audit_action: str | None = "stock.receipt", check_levels: bool = True,
                       batch_size: int = BULK_BATCH) -> BulkReceived:
    """Receive many lines (opening stock, an import), `batch_size` at a time: per batch, the rules of a single
    receipt for each line (`receipt_line`), one upsert of the batch's on-hand rows in (item, location, lot)
    order (the locks of `stock_lines_post`, in its order), the balances checked (negative stock, one expiry per
    lot), the ledger lines written with COPY, and one audit row (`audit_action`; None when the caller records
    the whole operation itself, as an import does). Lines of one lot in one batch must agree on the expiry.

    Each batch is one transaction; inside the caller's transaction it is a part of it (no savepoint), so a
    refusal, raised, takes back everything the caller did: the import's all-or-nothing. Level alerts are
    checked per batch, or, with `check_levels=False`, left to the caller (`BulkReceived.levels_due`)."""
    actor.require(STOCK_MOVE)
    result = BulkReceived()
    batch: list[Receipt] = []
    for receipt in receipts:
        batch.append(receipt)
        if len(batch) >= batch_size:
            _receive_batch(actor, batch, result, reason=reason, reference=reference, audit_action=audit_action,
                           check_levels=check_levels)
            batch = []
    if batch:
        _receive_batch(actor, batch, result, reason=reason, reference=reference, audit_action=audit_action,
                       check_levels=check_levels)
    return result


def _receive_batch(actor: Actor, receipts: list[Receipt], result: BulkReceived, *, reason: str, reference: str,
                   audit_action: str | None, check_levels: bool) -> None:
    org = actor.organization
    lines = [receipt_line(actor=actor, receipt=receipt) for receipt in receipts]
    for site in {line.location.site for line in lines}:
        site_access_require(actor, site)
    first_expiry: dict[tuple[int, int, str], date] = {}
    for line in lines:
        if line.expires_on is not None:
            key = (line.item.pk, line.location.pk, line.lot)
            lot_expiry_check(line.item, line.location, line.lot,
                             first_expiry.setdefault(key, line.expires_on), line.expires_on, " (an earlier line)")
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            balances = _apply_to_on_hand_in_one_statement(org, lines, now)
        else:
            balances = _apply_to_on_hand(org, lines)
        actor_id = actor.user.pk if actor.user else None
        insert_rows(StockMovement, [{
            "organization_id": org.pk, "item_id": line.item.pk, "location_id": line.location.pk,
            "site_id": line.location.site_id, "lot": line.lot,
            "expires_on": balances[(line.item.pk, line.location.pk, line.lot)][1], "kind": line.kind,
            "quantity": line.delta, "unit_cost": line.unit_cost, "reason": reason[:200], "reference": reference[:100],
            "group": None, "actor_id": actor_id, "created_at": now} for line in lines])
        if audit_action:
            AuditEvent.objects.create(**audit_values(
                actor=actor, action=audit_action, object_type=StockMovement._meta.label_lower, object_id="",
                object_repr=f"receipts ({len(lines)} lines)", after={"lines": len(lines), "reason": reason,
                                                             "reference": reference}))
        watched = {(line.item, line.location.site_id) for line in lines
                   if line.item.min_level is not None or line.item.max_level is not None}
        if check_levels:
            level_alerts_check(organization=org, pairs=watched)
        else:
            result.levels_due.update((item.pk, site_id) for item, site_id in watched)
    result.movements += len(lines)


UPSERT_ON_HAND_MANY = f"""
INSERT INTO inventory_onhand (organization_id, item_id, location_id, site_id, lot, expires_on, quantity, updated_at)
SELECT %(org)s, item_id, location_id, site_id, lot, expires_on, delta, %(now)s
FROM unnest(%(items)s::bigint[], %(locations)s::bigint[], %(sites)s::bigint[], %(lots)s::text[],
            %(expiries)s::date[], %(deltas)s::numeric[]) AS k (item_id, location_id, site_id, lot, expires_on, delta)
ORDER BY item_id, location_id, lot
{UPSERT_ON_HAND[UPSERT_ON_HAND.index("ON CONFLICT"):UPSERT_ON_HAND.index("RETURNING")]}
RETURNING item_id, location_id, lot, quantity, expires_on
"""


def _apply_to_on_hand_in_one_statement(org: Organization, lines: list[Line],
                                       now: datetime) -> dict[tuple[int, int, str], tuple[Decimal, date | None]]:
    """PostgreSQL: `_apply_to_on_hand` for many rows in one statement (its INSERT takes the rows sorted, so
    their locks come in the fixed order), the balances checked the same way."""
    changes = _on_hand_changes(lines)
    columns: list[list[Any]] = [[], [], [], [], [], []]
    for (item_id, location_id, lot), (line, delta, expiry) in changes.items():
        for values, value in zip(columns, (item_id, location_id, line.location.site_id, lot, expiry, delta),
                                 strict=True):
            values.append(value)
    with connection.cursor() as cursor:
        cursor.execute(UPSERT_ON_HAND_MANY, dict(zip(
            ("items", "locations", "sites", "lots", "expiries", "deltas"), columns, strict=True), org=org.pk, now=now))
        rows = cursor.fetchall()
    balances = {(item_id, location_id, lot): (amount, expires_on)
                for item_id, location_id, lot, amount, expires_on in rows}
    for key, (line, delta, expiry) in changes.items():
        amount, expires_on = balances[key]
        _check_balance(org, line, delta, amount, expires_on, expiry)
    return balances


def stock_levels_check(*, actor: Actor, pairs: set[tuple[int, int]]) -> None:
    """Check the levels of these (item id, site id) after a bulk posting that left it to the caller (the
    alerts a posting raises or resolves), items loaded a batch at a time."""
    ordered = sorted(pairs)
    for start in range(0, len(ordered), BULK_BATCH):
        chunk = ordered[start:start + BULK_BATCH]
        items = Item.objects.filter(organization=actor.organization).in_bulk({item_id for item_id, _ in chunk})
        level_alerts_check(organization=actor.organization,
                          pairs={(items[item_id], site_id) for item_id, site_id in chunk if item_id in items})


@transaction.atomic
def stock_receive(*, actor: Actor, item: Item, location: Location, quantity_received: object, lot: str = "",
                  expires_on: date | None = None, unit_cost: object = None, reference: str = "",
                  reason: str = "") -> StockMovement:
    actor.require(STOCK_MOVE)
    amount = quantity(quantity_received)
    if amount < 0:
        raise InvalidInput("A receipt adds stock: the quantity must be positive", field="quantity")
    lot = _check_lot(item, lot, expires_on, receiving=True)
    cost = item.unit_cost if unit_cost is None else money(unit_cost)
    line = Line(item, location, amount, Kind.RECEIPT, lot, expires_on if item.tracks_expiry else None, cost)
    return stock_lines_post(actor=actor, lines=[line], reason=reason, reference=reference, action="stock.receipt")[0]


@transaction.atomic
def stock_issue(*, actor: Actor, item: Item, location: Location, quantity_issued: object, lot: str = "",
                reference: str = "", reason: str = "") -> StockMovement:
    actor.require(STOCK_MOVE)
    amount = quantity(quantity_issued)
    if amount < 0:
        raise InvalidInput("An issue takes stock out: the quantity must be positive", field="quantity")
    lot = _check_lot(item, lot, None, receiving=False)
    line = Line(item, location, -amount, Kind.ISSUE, lot, None, item.unit_cost)
    return stock_lines_post(actor=actor, lines=[line], reason=reason, reference=reference, action="stock.issue")[0]


@transaction.atomic
def stock_adjust(*, actor: Actor, item: Item, location: Location, delta: object, reason: str, lot: str = "",
                 expires_on: date | None = None, reference: str = "") -> StockMovement:
    """Correct stock by a signed quantity (found, damaged, lost, …); the reason is required."""
    actor.require(STOCK_ADJUST)
    amount = quantity(delta, field="delta")
    if not (reason or "").strip():
        raise InvalidInput("An adjustment needs a reason", field="reason")
    lot = _check_lot(item, lot, expires_on if amount > 0 else None, receiving=amount > 0)
    line = Line(item, location, amount, Kind.ADJUSTMENT, lot, expires_on if item.tracks_expiry else None,
                item.unit_cost)
    return stock_lines_post(actor=actor, lines=[line], reason=reason.strip(), reference=reference,
                      action="stock.adjustment")[0]


@transaction.atomic
def stock_transfer(*, actor: Actor, item: Item, source: Location, destination: Location, quantity_moved: object,
                   lot: str = "", reference: str = "", reason: str = "") -> list[StockMovement]:
    """Move stock between two locations, of one site or of two: a transfer_out and a transfer_in line in
    one transaction, sharing a group id. The lot and its expiry travel with the stock."""
    actor.require(STOCK_MOVE)
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
    return stock_lines_post(actor=actor, lines=lines, reason=reason, reference=reference, action="stock.transfer")


@transaction.atomic
def stock_count_correct(*, actor: Actor, item: Item, location: Location, counted: object, lot: str = "",
                        reference: str = "", reason: str = "count") -> StockMovement | None:
    """Set stock to a counted quantity with a count_correction line (used by counts) and raise or refresh a
    discrepancy alert; None when the count matched."""
    actor.require(STOCK_ADJUST)
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
    movement = stock_lines_post(actor=actor, lines=[line], reason=reason, reference=reference,
                          action="stock.count_correction")[0]
    discrepancy_alert_raise(organization=actor.organization, item=item, location=location, lot=lot,
                                expected=current.quantize(QUANTITY_STEP), counted=counted_quantity)
    return movement


@dataclass(frozen=True)
class Counted:
    """A counted quantity for one item × location × lot (what a count found there)."""

    item: Item
    location: Location
    counted: Decimal
    lot: str = ""


def stock_count_correct_bulk(*, actor: Actor, counts: list[Counted], reference: str = "",
                             reason: str = "count") -> dict[tuple[int, int, str], StockMovement]:
    """Set many lines to their counted quantities, as stock_count_correct does one: the on-hand rows are read
    under lock a chunk at a time, the differences posted as count_correction lines (one ledger statement and
    one audit row a chunk), and a discrepancy alert raised for every line that differed. Returns the
    movements by (item, location, lot); a line that matched has none. Call inside a transaction."""
    actor.require(STOCK_ADJUST)
    posted: dict[tuple[int, int, str], StockMovement] = {}
    for start in range(0, len(counts), ONE_STATEMENT_MAX_LINES):
        chunk = counts[start:start + ONE_STATEMENT_MAX_LINES]
        current = {(row["item_id"], row["location_id"], row["lot"]): row["quantity"] for row in (
            OnHand.objects.select_for_update().filter(
                organization=actor.organization, item_id__in={c.item.pk for c in chunk},
                location_id__in={c.location.pk for c in chunk})
            .order_by("item_id", "location_id", "lot").values("item_id", "location_id", "lot", "quantity"))}
        lines, found = [], []
        for count in chunk:
            counted = quantity(count.counted, field="counted", allow_zero=True)
            if counted < 0:
                raise InvalidInput("A count cannot be negative", field="counted")
            lot = _check_lot(count.item, count.lot, None, receiving=False)
            before = current.get((count.item.pk, count.location.pk, lot), Decimal(0))
            if counted != before:
                lines.append(Line(count.item, count.location, counted - before, Kind.COUNT_CORRECTION, lot, None,
                                  count.item.unit_cost))
                found.append((count, lot, before, counted))
        if not lines:
            continue
        movements = stock_lines_post(actor=actor, lines=lines, reason=reason, reference=reference,
                                     action="stock.count_correction")
        for (count, lot, before, counted), movement in zip(found, movements, strict=True):
            posted[(count.item.pk, count.location.pk, lot)] = movement
            discrepancy_alert_raise(organization=actor.organization, item=count.item, location=count.location,
                                    lot=lot, expected=before.quantize(QUANTITY_STEP), counted=counted)
    return posted


def site_without_stock_check(site: Site) -> None:
    """A site is archived only once its stock is gone (checked by accounts' site_archive)."""
    if OnHand.objects.filter(organization_id=site.organization_id, site=site).exclude(quantity=0).exists():
        raise Conflict(f"Stock lies at site {site.code}; transfer it away before archiving")
