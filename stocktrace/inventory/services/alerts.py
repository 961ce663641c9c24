"""Stock alerts: raised by the ledger when levels are crossed and by the daily expiry scan; one open alert
per kind × item × site (× location × lot for expiry); acknowledged and resolved by people, and resolved by
stocktrace itself once what raised them is over (stock back above the minimum, the lot gone)."""

import functools
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.core.db import hydrated, pg_execute, select_list
from stocktrace.core.errors import Conflict
from stocktrace.events.catalogue import event_publish
from stocktrace.inventory.models import Item, Location, OnHand, StockAlert
from stocktrace.inventory.permissions import ALERTS_MANAGE
from stocktrace.inventory.quantities import QUANTITY_STEP, quantity_text
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization

Kind, Severity = StockAlert.Kind, StockAlert.Severity


def alert_raise(*, organization: Organization, kind: str, severity: str, item: Item, site_id: int, message: str,
                location: Location | None = None, lot: str = "", quantity: Decimal | None = None,
                threshold: Decimal | None = None) -> tuple[StockAlert, bool]:
    """Raise an alert, or refresh the unresolved one with the same key. Returns (alert, created)."""
    lot = lot if location is not None else ""
    fields = {"severity": severity, "message": message[:300], "quantity": quantity, "threshold": threshold}
    if connection.vendor == "postgresql":
        alert, created = _raise_in_one_statement(organization, kind, item, site_id, location, lot, fields)
    else:
        alert, created = _raise_with_the_orm(organization, kind, item, site_id, location, lot, fields)
    if created:
        event_publish(organization=organization, name="alert.raised", payload={"alert": {
            "id": alert.pk, "kind": kind, "severity": severity, "item": item.sku, "site_id": site_id,
            "location_id": location.pk if location else None, "lot": alert.lot, "message": alert.message,
            "quantity": quantity, "threshold": threshold}})
    return alert, created


def _raise_with_the_orm(organization: Organization, kind: str, item: Item, site_id: int, location: Location | None,
                        lot: str, fields: dict[str, Any]) -> tuple[StockAlert, bool]:
    key = {"organization": organization, "kind": kind, "item": item, "site_id": site_id, "location": location,
           "lot": lot}
    existing = StockAlert.objects.filter(**key).exclude(status=StockAlert.Status.RESOLVED).first()
    if existing:
        StockAlert.objects.filter(pk=existing.pk).update(**fields)
        return existing, False
    try:
        with transaction.atomic():
            return StockAlert.objects.create(**key, **fields), True
    except IntegrityError:  # raised at the same moment by another transaction
        return StockAlert.objects.filter(**key).exclude(status=StockAlert.Status.RESOLVED).get(), False


@functools.cache
def _upsert_sql(per_location: bool) -> str:
    # The conflict targets are the two partial unique indexes of StockAlert (one open alert per key).
    target = ("(organization_id, kind, item_id, location_id, lot) WHERE (NOT (status = 'resolved') AND "
              "location_id IS NOT NULL)" if per_location else
              "(organization_id, kind, item_id, site_id) WHERE (NOT (status = 'resolved') AND location_id IS NULL)")
    return f"""
        INSERT INTO {StockAlert._meta.db_table} (organization_id, kind, item_id, site_id, location_id, lot,
            severity, status, message, quantity, threshold, raised_at, resolution)
        VALUES (%(organization)s, %(kind)s, %(item)s, %(site)s, %(location)s, %(lot)s, %(severity)s, 'open',
                %(message)s, %(quantity)s, %(threshold)s, %(now)s, '')
        ON CONFLICT {target} DO UPDATE SET severity = excluded.severity, message = excluded.message,
            quantity = excluded.quantity, threshold = excluded.threshold
        RETURNING {select_list(StockAlert, StockAlert._meta.db_table)}, (xmax = 0)"""


def _raise_in_one_statement(organization: Organization, kind: str, item: Item, site_id: int,
                            location: Location | None, lot: str, fields: dict[str, Any]) -> tuple[StockAlert, bool]:
    """Movements of items with levels raise or refresh an alert on most postings: one prepared upsert, which
    also settles two transactions raising the same alert at once."""
    row = pg_execute(_upsert_sql(location is not None), {
        "organization": organization.pk, "kind": kind, "item": item.pk, "site": site_id,
        "location": location.pk if location is not None else None, "lot": lot, "now": timezone.now(), **fields,
    }).fetchone()
    assert row is not None  # the upsert returns its row
    return hydrated(StockAlert, row[:-1]), row[-1]


def _site_total(organization: Organization, item: Item, site_id: int) -> Decimal:
    total: Decimal | None
    if connection.vendor == "postgresql":
        row = pg_execute("SELECT SUM(quantity) FROM inventory_onhand WHERE organization_id = %s AND site_id = %s "
                         "AND item_id = %s", [organization.pk, site_id, item.pk]).fetchone()
        assert row is not None  # an aggregate always has its row
        total = row[0]
    else:
        total = OnHand.objects.filter(item=item, site_id=site_id).aggregate(total=Sum("quantity"))["total"]
    return (total or Decimal(0)).quantize(QUANTITY_STEP)


LEVEL_KINDS: tuple[str, ...] = (Kind.STOCKOUT, Kind.LOW_STOCK, Kind.EXCESS)
EXPIRY_KINDS: tuple[str, ...] = (Kind.EXPIRING, Kind.EXPIRED)


def level_alerts_check(*, organization: Organization, pairs: Iterable[tuple[Item, int]]) -> None:
    """After movements: compare each touched item's total at the site with its minimum and maximum; raise
    (or refresh) the alerts that are due and resolve the open ones that no longer are. Sorted, so two
    postings touching the same alerts lock them in the same order."""
    watched = sorted(((item, site_id) for item, site_id in pairs
                      if item.min_level is not None or item.max_level is not None), key=lambda p: (p[0].pk, p[1]))
    for item, site_id in watched:
        total = _site_total(organization, item, site_id)
        due = _level_alerts_due(item, total)
        for kind, severity, threshold, message in due:
            alert_raise(organization=organization, kind=kind, severity=severity, item=item, site_id=site_id,
                        quantity=total, threshold=threshold, message=message)
        _resolve_level_alerts(organization, item, site_id, kinds=set(LEVEL_KINDS) - {due_kind for due_kind, *_ in due},
                              resolution=f"{quantity_text(total)} {item.unit} on hand at the site")


def _level_alerts_due(item: Item, total: Decimal) -> list[tuple[str, str, Decimal, str]]:
    """(kind, severity, threshold, message) of each level alert the site's total calls for."""
    due: list[tuple[str, str, Decimal, str]] = []
    if item.min_level is not None and total <= 0:
        due.append((Kind.STOCKOUT, Severity.CRITICAL, item.min_level,
                    f"{item.sku} is out of stock ({quantity_text(total)} {item.unit})"))
    elif item.min_level is not None and total < item.min_level:
        severity = Severity.HIGH if total <= item.min_level / 2 else Severity.MEDIUM
        due.append((Kind.LOW_STOCK, severity, item.min_level,
                    f"{item.sku} is low: {quantity_text(total)} {item.unit}, minimum {quantity_text(item.min_level)}"))
    if item.max_level is not None and total > item.max_level:
        due.append((Kind.EXCESS, Severity.LOW, item.max_level,
                    f"{item.sku} is above its maximum: {quantity_text(total)} {item.unit}, "
                    f"maximum {quantity_text(item.max_level)}"))
    return due


RESOLVE_LEVEL_ALERTS = f"""
    UPDATE {StockAlert._meta.db_table} SET status = 'resolved', resolved_at = %s, resolved_by_id = NULL, resolution = %s
    WHERE organization_id = %s AND item_id = %s AND site_id = %s AND location_id IS NULL
      AND NOT (status = 'resolved') AND kind = ANY(%s)"""


def _resolve_level_alerts(organization: Organization, item: Item, site_id: int, *, kinds: Iterable[str],
                          resolution: str) -> int:
    """Resolve the item's open level alerts of these kinds at the site (through the open-alert index). Most
    postings of items with levels ask, so on PostgreSQL it is one prepared statement."""
    if not kinds:
        return 0
    now, kinds, resolution = timezone.now(), sorted(kinds), resolution[:200]
    if connection.vendor == "postgresql":
        return pg_execute(RESOLVE_LEVEL_ALERTS, [now, resolution, organization.pk, item.pk, site_id, kinds]).rowcount
    return StockAlert.objects.filter(
        organization=organization, item=item, site_id=site_id, location__isnull=True, kind__in=kinds,
    ).exclude(status=StockAlert.Status.RESOLVED).update(
        status=StockAlert.Status.RESOLVED, resolved_at=now, resolved_by=None, resolution=resolution)


def discrepancy_severity(expected: Decimal, counted: Decimal) -> str:
    """How bad a count's difference is: stock gone that the books had is critical; otherwise by the share
    of the expected quantity (up to 5% low, 20% medium, 50% high, beyond critical); stock found where the
    books had none is medium."""
    if expected > 0 and counted <= 0:
        return Severity.CRITICAL
    if expected <= 0:
        return Severity.MEDIUM
    share = abs(counted - expected) / expected
    for limit, severity in ((Decimal("0.05"), Severity.LOW), (Decimal("0.2"), Severity.MEDIUM),
                            (Decimal("0.5"), Severity.HIGH)):
        if share <= limit:
            return severity
    return Severity.CRITICAL


def discrepancy_alert_raise(*, organization: Organization, item: Item, location: Location, lot: str,
                                expected: Decimal, counted: Decimal) -> StockAlert:
    """A count found other than the books: one open discrepancy alert per item × location × lot, refreshed
    by later counts; the correction itself is the ledger's."""
    difference = (counted - expected).quantize(QUANTITY_STEP)
    alert, _ = alert_raise(
        organization=organization, kind=Kind.DISCREPANCY, severity=discrepancy_severity(expected, counted),
        item=item, site_id=location.site_id, location=location, lot=lot, quantity=counted, threshold=expected,
        message=f"{item.sku}{' lot ' + lot if lot else ''} at {location.code}: counted "
                f"{quantity_text(counted)}, expected {quantity_text(expected)} "
                f"({'+' if difference > 0 else ''}{quantity_text(difference)} {item.unit})")
    return alert


def alerts_expiry_scan(*, organization: Organization | None = None, today: date | None = None) -> dict[str, int]:
    """Daily: an `expired` alert for each lot past its date that still has stock, `expiring` for those within
    STOCKTRACE_EXPIRY_WARNING_DAYS (high severity inside a week). Expiry alerts of lots no longer in stock
    there are resolved, and so is a lot's `expiring` alert once it is `expired`."""
    today = today or timezone.localdate()
    warn_until = today + timedelta(days=settings.STOCKTRACE_EXPIRY_WARNING_DAYS)
    counts = {"expired": 0, "expiring": 0, "resolved": _resolve_gone_lots(organization)}
    rows = (OnHand.objects.filter(quantity__gt=0, expires_on__isnull=False, expires_on__lte=warn_until)
            .select_related("item", "location", "organization"))
    if organization is not None:
        rows = rows.filter(organization=organization)
    for row in rows.iterator(chunk_size=500):
        assert row.expires_on is not None  # the query keeps dated lots only
        with transaction.atomic():
            if row.expires_on <= today:
                kind, severity = Kind.EXPIRED, Severity.CRITICAL
                text = f"{row.item.sku} lot {row.lot or '-'} at {row.location.code} expired on {row.expires_on}"
                counts["resolved"] += _lot_alerts(row, Kind.EXPIRING).update(
                    status=StockAlert.Status.RESOLVED, resolved_at=timezone.now(), resolved_by=None,
                    resolution=f"expired on {row.expires_on}: see its expired alert")
            else:
                kind = Kind.EXPIRING
                severity = Severity.HIGH if row.expires_on <= today + timedelta(days=7) else Severity.MEDIUM
                text = f"{row.item.sku} lot {row.lot or '-'} at {row.location.code} expires on {row.expires_on}"
            alert_raise(organization=row.organization, kind=kind, severity=severity, item=row.item,
                        site_id=row.site_id, location=row.location, lot=row.lot, quantity=row.quantity,
                        message=text)
            counts[kind] += 1
    return counts


def _lot_alerts(row: OnHand, kind: str) -> QuerySet[StockAlert]:
    return StockAlert.objects.filter(
        organization_id=row.organization_id, kind=kind, item_id=row.item_id, location_id=row.location_id, lot=row.lot,
    ).exclude(status=StockAlert.Status.RESOLVED)


def _resolve_gone_lots(organization: Organization | None = None) -> int:
    """Open expiry alerts whose lot has no stock left at the location: issued, moved or written off."""
    in_stock = OnHand.objects.filter(item=OuterRef("item"), location=OuterRef("location"), lot=OuterRef("lot"),
                                     quantity__gt=0)
    alerts = StockAlert.objects.filter(kind__in=EXPIRY_KINDS, location__isnull=False).exclude(
        status=StockAlert.Status.RESOLVED).exclude(Exists(in_stock))
    if organization is not None:
        alerts = alerts.filter(organization=organization)
    return alerts.update(status=StockAlert.Status.RESOLVED, resolved_at=timezone.now(), resolved_by=None,
                         resolution="none of the lot left at the location")


def alerts_recheck(*, organization: Organization,
                   progress: Callable[[int, int], object] | None = None) -> dict[str, int]:
    """Recompute every alert stocktrace raises for the organization, as the ledger and the daily scan would:
    after levels were changed, or an import, or to be sure. `progress(done, total)` is told as it goes."""
    level_items = Item.objects.for_org(organization).filter(Q(min_level__isnull=False) | Q(max_level__isnull=False))
    pairs = set(OnHand.objects.for_org(organization).filter(item__in=level_items)
                .values_list("item_id", "site_id").distinct())
    open_level = StockAlert.objects.for_org(organization).filter(kind__in=LEVEL_KINDS, location__isnull=True).exclude(
        status=StockAlert.Status.RESOLVED)
    pairs |= set(open_level.values_list("item_id", "site_id"))
    items = Item.objects.in_bulk({item_id for item_id, _ in pairs})
    total, done, before = len(pairs), 0, _open_count(organization)
    for item_id, site_id in sorted(pairs):
        item = items[item_id]
        with transaction.atomic():
            if item.min_level is None and item.max_level is None:
                _resolve_level_alerts(organization, item, site_id, kinds=LEVEL_KINDS,
                                      resolution="the item has no minimum or maximum any more")
            else:
                level_alerts_check(organization=organization, pairs=[(item, site_id)])
        done += 1
        if progress and (done % 200 == 0 or done == total):
            progress(done, total)
    expiry = alerts_expiry_scan(organization=organization)
    return {"pairs_checked": total, "open_before": before, "open_after": _open_count(organization),
            "expired": expiry["expired"], "expiring": expiry["expiring"]}


def _open_count(organization: Organization) -> int:
    return StockAlert.objects.for_org(organization).exclude(status=StockAlert.Status.RESOLVED).count()


def alerts_recheck_start(*, actor: Actor) -> str:
    """Start the recheck as a job; returns its id, whose progress the page that started it follows."""
    actor.require(ALERTS_MANAGE)
    from stocktrace.inventory.tasks import recheck_alerts

    result = recheck_alerts.enqueue(organization_id=actor.organization.pk)
    audit_record(actor=actor, action="alerts.recheck", obj=actor.organization, after={"task_id": str(result.id)})
    return str(result.id)


@transaction.atomic
def alert_acknowledge(*, actor: Actor, alert: StockAlert) -> StockAlert:
    actor.require(ALERTS_MANAGE)
    alert = StockAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != StockAlert.Status.OPEN:
        raise Conflict(f"The alert is {alert.status} already")
    alert.status, alert.acknowledged_at, alert.acknowledged_by = StockAlert.Status.ACKNOWLEDGED, timezone.now(), \
        actor.user
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    audit_record(actor=actor, action="alert.acknowledge", obj=alert, before={"status": "open"},
                 after={"status": alert.status})
    return alert


@transaction.atomic
def alert_resolve(*, actor: Actor, alert: StockAlert) -> StockAlert:
    actor.require(ALERTS_MANAGE)
    alert = StockAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == StockAlert.Status.RESOLVED:
        raise Conflict("The alert is resolved already")
    before = {"status": alert.status}
    alert.status, alert.resolved_at, alert.resolved_by = StockAlert.Status.RESOLVED, timezone.now(), actor.user
    alert.save(update_fields=["status", "resolved_at", "resolved_by"])
    audit_record(actor=actor, action="alert.resolve", obj=alert, before=before, after={"status": alert.status})
    return alert
