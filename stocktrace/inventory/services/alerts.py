"""Stock alerts: raised by the ledger when levels are crossed and by the daily expiry scan; one open alert
per kind × item × site (× location × lot for expiry); acknowledged and resolved by people."""

import functools
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from stocktrace.accounts.roles import Perm
from stocktrace.audit.services import audit_record
from stocktrace.core.db import hydrated, pg_execute, select_list
from stocktrace.core.errors import Conflict
from stocktrace.inventory.models import Item, OnHand, StockAlert
from stocktrace.inventory.quantities import QUANTITY_STEP
from stocktrace.tenancy.actor import Actor
from stocktrace.webhooks.outbox import event_publish

Kind, Severity = StockAlert.Kind, StockAlert.Severity


def alert_raise(*, organization, kind: str, severity: str, item: Item, site_id: int, message: str,
                location=None, lot: str = "", quantity: Decimal | None = None,
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


def _raise_with_the_orm(organization, kind, item, site_id, location, lot, fields) -> tuple[StockAlert, bool]:
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
            severity, status, message, quantity, threshold, raised_at)
        VALUES (%(organization)s, %(kind)s, %(item)s, %(site)s, %(location)s, %(lot)s, %(severity)s, 'open',
                %(message)s, %(quantity)s, %(threshold)s, %(now)s)
        ON CONFLICT {target} DO UPDATE SET severity = excluded.severity, message = excluded.message,
            quantity = excluded.quantity, threshold = excluded.threshold
        RETURNING {select_list(StockAlert, StockAlert._meta.db_table)}, (xmax = 0)"""


def _raise_in_one_statement(organization, kind, item, site_id, location, lot, fields) -> tuple[StockAlert, bool]:
    """Movements of items with levels raise or refresh an alert on most postings: one prepared upsert, which
    also settles two transactions raising the same alert at once."""
    row = pg_execute(_upsert_sql(location is not None), {
        "organization": organization.pk, "kind": kind, "item": item.pk, "site": site_id,
        "location": location.pk if location is not None else None, "lot": lot, "now": timezone.now(), **fields,
    }).fetchone()
    return hydrated(StockAlert, row[:-1]), row[-1]


def _site_total(organization, item: Item, site_id: int) -> Decimal:
    if connection.vendor == "postgresql":
        total = pg_execute("SELECT SUM(quantity) FROM inventory_onhand WHERE organization_id = %s AND site_id = %s "
                           "AND item_id = %s", [organization.pk, site_id, item.pk]).fetchone()[0]
    else:
        total = OnHand.objects.filter(item=item, site_id=site_id).aggregate(total=Sum("quantity"))["total"]
    return (total or Decimal(0)).quantize(QUANTITY_STEP)


def alerts_for_levels(*, organization, pairs) -> None:
    """After movements: compare each touched item's total at the site with its minimum and maximum."""
    watched = [(item, site_id) for item, site_id in pairs if item.min_level is not None or item.max_level is not None]
    for item, site_id in watched:
        total = _site_total(organization, item, site_id)
        if item.min_level is not None and total <= 0:
            alert_raise(organization=organization, kind=Kind.STOCKOUT, severity=Severity.CRITICAL, item=item,
                        site_id=site_id, quantity=total, threshold=item.min_level,
                        message=f"{item.sku} is out of stock ({total} {item.unit})")
        elif item.min_level is not None and total < item.min_level:
            severity = Severity.HIGH if total <= item.min_level / 2 else Severity.MEDIUM
            alert_raise(organization=organization, kind=Kind.LOW_STOCK, severity=severity, item=item,
                        site_id=site_id, quantity=total, threshold=item.min_level,
                        message=f"{item.sku} is low: {total} {item.unit}, minimum {item.min_level}")
        if item.max_level is not None and total > item.max_level:
            alert_raise(organization=organization, kind=Kind.EXCESS, severity=Severity.LOW, item=item,
                        site_id=site_id, quantity=total, threshold=item.max_level,
                        message=f"{item.sku} is above its maximum: {total} {item.unit}, maximum {item.max_level}")


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


def alert_for_count_discrepancy(*, organization, item: Item, location, lot: str, expected: Decimal,
                                counted: Decimal) -> StockAlert:
    """A count found other than the books: one open discrepancy alert per item × location × lot, refreshed
    by later counts; the correction itself is the ledger's."""
    difference = (counted - expected).quantize(QUANTITY_STEP)
    alert, _ = alert_raise(
        organization=organization, kind=Kind.DISCREPANCY, severity=discrepancy_severity(expected, counted),
        item=item, site_id=location.site_id, location=location, lot=lot, quantity=counted, threshold=expected,
        message=f"{item.sku}{' lot ' + lot if lot else ''} at {location.code}: counted {counted}, "
                f"expected {expected} ({'+' if difference > 0 else ''}{difference} {item.unit})")
    return alert


def alerts_expiry_scan(*, organization=None, today: date | None = None) -> dict[str, int]:
    """Daily: an `expired` alert for each lot past its date that still has stock, `expiring` for those within
    STOCKTRACE_EXPIRY_WARNING_DAYS (high severity inside a week)."""
    today = today or timezone.localdate()
    warn_until = today + timedelta(days=settings.STOCKTRACE_EXPIRY_WARNING_DAYS)
    rows = (OnHand.objects.filter(quantity__gt=0, expires_on__isnull=False, expires_on__lte=warn_until)
            .select_related("item", "location", "organization"))
    if organization is not None:
        rows = rows.filter(organization=organization)
    counts = {"expired": 0, "expiring": 0}
    for row in rows.iterator(chunk_size=500):
        with transaction.atomic():
            if row.expires_on <= today:
                kind, severity = Kind.EXPIRED, Severity.CRITICAL
                text = f"{row.item.sku} lot {row.lot or '-'} at {row.location.code} expired on {row.expires_on}"
            else:
                kind = Kind.EXPIRING
                severity = Severity.HIGH if row.expires_on <= today + timedelta(days=7) else Severity.MEDIUM
                text = f"{row.item.sku} lot {row.lot or '-'} at {row.location.code} expires on {row.expires_on}"
            alert_raise(organization=row.organization, kind=kind, severity=severity, item=row.item,
                        site_id=row.site_id, location=row.location, lot=row.lot, quantity=row.quantity,
                        message=text)
            counts[kind] += 1
    return counts


@transaction.atomic
def alert_acknowledge(*, actor: Actor, alert: StockAlert) -> StockAlert:
    actor.require(Perm.ALERTS_MANAGE)
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
    actor.require(Perm.ALERTS_MANAGE)
    alert = StockAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == StockAlert.Status.RESOLVED:
        raise Conflict("The alert is resolved already")
    before = {"status": alert.status}
    alert.status, alert.resolved_at, alert.resolved_by = StockAlert.Status.RESOLVED, timezone.now(), actor.user
    alert.save(update_fields=["status", "resolved_at", "resolved_by"])
    audit_record(actor=actor, action="alert.resolve", obj=alert, before=before, after={"status": alert.status})
    return alert
