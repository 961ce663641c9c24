import functools
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from stocktrace.core.db import hydrated, pg_execute, select_list
from stocktrace.core.errors import InvalidInput, NotFound
from stocktrace.inventory.barcodes import check_digit_hint, scan_key
from stocktrace.inventory.models import Item, ItemBarcode, Location, OnHand, StockAlert, StockMovement
from stocktrace.inventory.permissions import INVENTORY_VIEW
from stocktrace.inventory.quantities import QUANTITY_STEP
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site


def locations_visible(*, actor: Actor, site_id: int | None = None, under: Location | None = None,
                      include_archived: bool = False) -> QuerySet[Location]:
    actor.require(INVENTORY_VIEW)
    locations = Location.objects.for_org(actor.organization).select_related("site")
    if actor.site_ids is not None:
        locations = locations.filter(site_id__in=actor.site_ids)
    if site_id:
        locations = locations.filter(site_id=site_id)
    if under is not None:
        locations = locations.filter(path__startswith=under.path)
    if not include_archived:
        locations = locations.filter(archived_at__isnull=True)
    return locations


def location_by_code(*, actor: Actor, code: str, site: Site | None = None) -> Location:
    """A scanned location barcode, or a typed location code (unique within a site, so it may need the site)."""
    try:
        return location_by_barcode(actor=actor, barcode=code)
    except NotFound:
        matches = list(locations_visible(actor=actor, site_id=site.pk if site else None)
                       .filter(code=code.strip())[:2])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidInput(f"Code {code.strip()} exists in several sites: scan the barcode or choose the site")
    raise NotFound(f"No location with barcode or code {code.strip()!r}")


def location_level(*, actor: Actor, site_id: int, parent: Location | None = None,
                   search: str = "") -> QuerySet[Location]:
    """One level of a site's tree: the locations directly in `parent`, or the site's top level. With a search,
    the locations at any depth (under `parent`, if given) whose code starts with it, whose name contains it or
    whose barcode it is. Each has `inside`, the number of locations directly in it; ordered by code."""
    locations = locations_visible(actor=actor, site_id=site_id).select_related("parent")
    if search:
        locations = locations.filter(Q(code__istartswith=search) | Q(name__icontains=search) | Q(barcode=search))
        if parent is not None:
            locations = locations.filter(path__startswith=parent.path).exclude(pk=parent.pk)
    else:
        locations = locations.filter(parent=parent)
    return (locations.annotate(inside=Count("children", filter=Q(children__archived_at__isnull=True)))
            .order_by("code"))


def location_get(*, actor: Actor, location_id: int) -> Location:
    location = locations_visible(actor=actor, include_archived=True).filter(pk=location_id).first()
    if location is None:
        raise NotFound("No such location")
    return location


def location_by_barcode(*, actor: Actor, barcode: str) -> Location:
    # Archived locations are found too, so a scan of one says "archived" rather than "unknown".
    location = locations_visible(actor=actor, include_archived=True).filter(barcode=barcode.strip()).first()
    if location is None:
        raise NotFound(f"No location with barcode {barcode!r}")
    return location


def items_visible(*, actor: Actor, search: str | None = None, include_archived: bool = False) -> QuerySet[Item]:
    actor.require(INVENTORY_VIEW)
    items = Item.objects.for_org(actor.organization)
    if search:
        items = items.filter(Q(sku__istartswith=search) | Q(name__icontains=search))
    if not include_archived:
        items = items.filter(archived_at__isnull=True)
    return items


def item_get(*, actor: Actor, item_id: int) -> Item:
    item = items_visible(actor=actor, include_archived=True).filter(pk=item_id).first()
    if item is None:
        raise NotFound("No such item")
    return item


def item_by_code(*, actor: Actor, code: str) -> Item:
    """A scanned barcode (or a typed SKU) to its item: one indexed lookup each."""
    actor.require(INVENTORY_VIEW)
    code = code.strip()
    key = scan_key(code)  # a UPC-A scanned as 13 digits finds the item as its 12 do
    if connection.vendor == "postgresql":
        item = _item_by_barcode_in_one_statement(actor.organization.pk, key)
    else:
        # Filter the barcode table by its own (organization, scan_key) unique index, not the item's organization.
        barcode = (ItemBarcode.objects.filter(organization=actor.organization, scan_key=key)
                   .select_related("item").first())
        item = barcode.item if barcode else None
    item = item or Item.objects.filter(organization=actor.organization, sku=code).first()
    if item is None:
        raise NotFound(f"No item with barcode or SKU {code!r}{check_digit_hint(code)}")
    return item


def items_by_codes(*, actor: Actor, codes: set[str]) -> dict[str, Item]:
    """Many scanned codes at once, as item_by_code finds one (a barcode in any GTIN form, else a SKU), in two
    queries: code → item for the codes that name one."""
    actor.require(INVENTORY_VIEW)
    codes = {code.strip() for code in codes if code.strip()}
    keys = {code: scan_key(code) for code in codes}
    by_key = {barcode.scan_key: barcode.item for barcode in ItemBarcode.objects.filter(
        organization=actor.organization, scan_key__in=set(keys.values())).select_related("item")}
    found = {code: by_key[key] for code, key in keys.items() if key in by_key}
    rest = codes - set(found)
    if rest:
        found.update({item.sku: item for item in Item.objects.filter(organization=actor.organization, sku__in=rest)})
    return found


def item_or_location_by_code(*, actor: Actor, code: str) -> Item | Location:
    """What a scanned code is: an item (by barcode or SKU), else a location (by barcode)."""
    try:
        return item_by_code(actor=actor, code=code)
    except NotFound:
        pass
    try:
        return location_by_barcode(actor=actor, barcode=code)
    except NotFound:
        code = code.strip()
        raise NotFound(f"No item or location with the code {code!r}{check_digit_hint(code)}") from None


@functools.cache
def _item_by_barcode_sql() -> str:
    return (f"SELECT {select_list(Item, 'i')}, ARRAY(SELECT c.code FROM {ItemBarcode._meta.db_table} c "
            f"WHERE c.item_id = i.id ORDER BY c.id) FROM {ItemBarcode._meta.db_table} b "
            f"JOIN {Item._meta.db_table} i ON i.id = b.item_id WHERE b.organization_id = %s AND b.scan_key = %s")


def _item_by_barcode_in_one_statement(organization_id: int, key: str) -> Item | None:
    """Scanning is the hot path: the item and all its barcodes in one prepared statement, through the
    (organization, scan_key) unique index. The codes ride along as `item.barcode_codes`."""
    row = pg_execute(_item_by_barcode_sql(), [organization_id, key], idempotent=True).fetchone()
    if row is None:
        return None
    item = hydrated(Item, row[:-1])
    item.barcode_codes = row[-1]
    return item


def on_hand_rows(*, actor: Actor, site_id: int | None = None, location: Location | None = None,
                 item_id: int | None = None, lot: str | None = None,
                 include_zero: bool = False) -> QuerySet[OnHand]:
    actor.require(INVENTORY_VIEW)
    rows = OnHand.objects.for_org(actor.organization).select_related("item", "location", "site")
    if actor.site_ids is not None:
        rows = rows.filter(site_id__in=actor.site_ids)
    if site_id:
        rows = rows.filter(site_id=site_id)
    if location is not None:
        rows = rows.filter(location__path__startswith=location.path)
    if item_id:
        rows = rows.filter(item_id=item_id)
    if lot:
        rows = rows.filter(lot=lot)
    if not include_zero:
        rows = rows.exclude(quantity=0)
    return rows


def movements_of(*, actor: Actor, item: Item | None = None,
                 location: Location | None = None) -> QuerySet[StockMovement]:
    actor.require(INVENTORY_VIEW)
    movements = StockMovement.objects.for_org(actor.organization).select_related("item", "location", "actor")
    if actor.site_ids is not None:
        movements = movements.filter(site_id__in=actor.site_ids)
    if item is not None:
        movements = movements.filter(item=item)
    if location is not None:
        movements = movements.filter(location=location)
    return movements


def alerts_of(*, actor: Actor, status: str | None = None, kind: str | None = None, severity: str | None = None,
              site_id: int | None = None, item_id: int | None = None) -> QuerySet[StockAlert]:
    actor.require(INVENTORY_VIEW)
    alerts = StockAlert.objects.for_org(actor.organization).select_related(
        "item", "location", "site", "acknowledged_by", "resolved_by")
    if actor.site_ids is not None:
        alerts = alerts.filter(site_id__in=actor.site_ids)
    for field, value in {"status": status, "kind": kind, "severity": severity, "site_id": site_id,
                         "item_id": item_id}.items():
        if value:
            alerts = alerts.filter(**{field: value})
    return alerts


def site_figures(*, actor: Actor, sites: list[Site]) -> list[dict[str, Any]]:
    """Per site (of those given, which the caller has scoped to the actor): how many items lie there, their
    value at standard cost, and the open alerts (all, and those high or critical). Three queries."""
    actor.require(INVENTORY_VIEW)
    ids = [site.pk for site in sites]
    value = ExpressionWrapper(F("quantity") * F("item__unit_cost"), output_field=DecimalField())
    stock = {row["site_id"]: row for row in OnHand.objects.for_org(actor.organization).filter(
        site_id__in=ids, quantity__gt=0).values("site_id").annotate(items=Count("item_id", distinct=True),
                                                                      value=Sum(value))}
    urgent = [StockAlert.Severity.HIGH, StockAlert.Severity.CRITICAL]
    alerts = {row["site_id"]: row for row in StockAlert.objects.for_org(actor.organization).filter(
        site_id__in=ids, status=StockAlert.Status.OPEN).values("site_id").annotate(
        open=Count("pk"), urgent=Count("pk", filter=Q(severity__in=urgent)))}
    return [{"site": site, "items": stock.get(site.pk, {}).get("items", 0),
             "value": stock.get(site.pk, {}).get("value") or Decimal(0),
             "open_alerts": alerts.get(site.pk, {}).get("open", 0),
             "urgent_alerts": alerts.get(site.pk, {}).get("urgent", 0)} for site in sites]


def alerts_most_urgent(*, actor: Actor) -> QuerySet[StockAlert]:
    """The open alerts of the actor's sites, critical first, then high, medium and low; newest first within."""
    rank = Case(*(When(severity=severity, then=Value(n)) for n, severity in enumerate(
        [StockAlert.Severity.CRITICAL, StockAlert.Severity.HIGH, StockAlert.Severity.MEDIUM])),
        default=Value(3), output_field=IntegerField())
    return (alerts_of(actor=actor, status=StockAlert.Status.OPEN).annotate(rank=rank)
            .order_by("rank", "-raised_at", "-pk"))


def alert_get(*, actor: Actor, alert_id: int) -> StockAlert:
    alert = alerts_of(actor=actor).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("No such alert")
    return alert


def ledger_drift(*, organization: Organization | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """On-hand rows whose quantity differs from the sum of their ledger lines (should be none, ever)."""
    sums = (StockMovement.objects.values("organization_id", "item_id", "location_id", "lot")
            .annotate(ledger=Sum("quantity")))
    if organization is not None:
        sums = sums.filter(organization=organization)
    # SQLite sums decimals in floating point: round back to the 3 places every quantity has.
    ledger = {(r["item_id"], r["location_id"], r["lot"]): r["ledger"].quantize(QUANTITY_STEP)
              for r in sums.iterator()}
    rows = OnHand.objects.all() if organization is None else OnHand.objects.filter(organization=organization)
    drift: list[dict[str, Any]] = []
    for row in rows.values("organization_id", "item_id", "location_id", "lot", "quantity").iterator():
        expected = ledger.pop((row["item_id"], row["location_id"], row["lot"]), Decimal(0))
        if expected != row["quantity"]:
            drift.append({**row, "ledger": expected})
    drift += [{"organization_id": None, "item_id": i, "location_id": loc, "lot": lot, "quantity": None,
               "ledger": total} for (i, loc, lot), total in ledger.items() if total != 0]
    return drift[:limit]
