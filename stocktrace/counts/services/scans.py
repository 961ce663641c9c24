"""Scans into count areas: idempotent by the client's uuid, append-only (an undo is a compensating scan), and
never dropped: an unknown code, or a scan captured offline before its area changed, becomes an exception for a
supervisor to map or dismiss."""

import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.core.codes import clean_code
from stocktrace.core.errors import Conflict, InvalidInput, NotFound
from stocktrace.counts.models import (
    AreaStatus,
    CountArea,
    CountException,
    CountMode,
    CountScan,
    ExceptionKind,
    ExceptionStatus,
    ScanKind,
)
from stocktrace.counts.permissions import COUNTS_MANAGE, COUNTS_SCAN
from stocktrace.counts.rules import reason_check, site_access_require
from stocktrace.inventory import selectors as inventory
from stocktrace.inventory.barcodes import check_digit_hint
from stocktrace.inventory.models import Item, Location
from stocktrace.inventory.quantities import quantity as quantity_parse
from stocktrace.inventory.services.catalog import item_barcode_add
from stocktrace.tenancy.actor import Actor

SCANNABLE = (AreaStatus.ASSIGNED, AreaStatus.COUNTING)


class ScanOutcome:
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    EXCEPTION = "exception"


@dataclass(frozen=True)
class ScanResult:
    scan: CountScan
    outcome: str  # ScanOutcome


def _existing(actor: Actor, scan_uuid: uuid_module.UUID) -> CountScan | None:
    return CountScan.objects.for_org(actor.organization).filter(uuid=scan_uuid).select_related("exception").first()


def _late(area: CountArea, scanned_at: datetime) -> bool:
    """Captured (by the device's clock) before the area last changed: an offline scan that could not know."""
    return scanned_at < area.changed_at


def _refusal(area: CountArea, actor: Actor) -> str | None:
    """Why this person may not scan into the area now; None when they may."""
    if area.session.status != "in_progress":
        return f"Count {area.session.name} is {area.session.status.replace('_', ' ')}"
    if area.status not in SCANNABLE:
        return f"Area {area.barcode} is {area.status.replace('_', ' ')}: scans are closed there"
    me = actor.membership.pk if actor.membership else None
    if area.session.mode != CountMode.TEAM and area.holder_id != me:
        return f"Area {area.barcode} is not yours: scan its barcode to claim it"
    return None


def _item_for(actor: Actor, code: str) -> Item | None:
    try:
        return inventory.item_by_code(actor=actor, code=code)
    except NotFound:
        return None


def _location_in(area: CountArea, location: Location | None) -> Location:
    if location is None:
        return area.location
    if not location.path.startswith(area.location.path):
        raise InvalidInput(f"{location.code} is not in area {area.barcode} ({area.location.code})", field="location")
    return location


def _insert(scan: CountScan, exception: CountException | None) -> ScanResult | None:
    """Write the scan (and its exception); None when another connection wrote the same uuid first."""
    try:
        with transaction.atomic():
            scan.save()
            if exception is not None:
                exception.scan = scan
                exception.save()
    except IntegrityError:
        return None
    return ScanResult(scan, ScanOutcome.EXCEPTION if exception else ScanOutcome.ACCEPTED)


def scan_prepare(*, actor: Actor, area: CountArea, scan_uuid: uuid_module.UUID, code: str, quantity: object,
                 lot: str, location: Location | None, device_id: str, scanned_at: datetime | None, now: datetime,
                 item_for: Callable[[str], Item | None]) -> tuple[CountScan, CountException | None]:
    """The scan (and its exception) to write, unsaved; raises the reason when it is refused. `area` comes with
    its session and location, locked or fresh."""
    code = clean_code(code, "code")
    counted = quantity_parse(quantity, field="quantity")
    if counted < 0:
        raise InvalidInput("A scanned quantity cannot be negative", field="quantity")
    scanned_at = scanned_at or now
    late = None
    if (refusal := _refusal(area, actor)) is not None:
        if area.session.status != "in_progress" or not _late(area, scanned_at):
            raise Conflict(refusal)
        late = refusal
    item = item_for(code)
    lot = lot.strip()
    if item is not None and item.tracks_lots and not lot and late is None:
        raise InvalidInput(f"{item.sku} is lot-tracked: give the lot", field="lot")
    scan = CountScan(organization=actor.organization, uuid=scan_uuid, session=area.session, area=area,
                     round=area.round, code=code, item=item, location=_location_in(area, location), lot=lot,
                     quantity=counted, counter=actor.membership, device_id=device_id[:100], scanned_at=scanned_at,
                     received_at=now)
    exception = None
    if late is not None:
        exception = CountException(organization=actor.organization, session=area.session, area=area,
                                   kind=ExceptionKind.LATE, reason=f"Scanned offline; then: {late}"[:200], item=item)
    elif item is None:
        exception = CountException(organization=actor.organization, session=area.session, area=area,
                                   kind=ExceptionKind.UNKNOWN_CODE,
                                   reason=f"No item with barcode or SKU {code!r}{check_digit_hint(code)}"[:200])
    return scan, exception


def area_started_counting(area: CountArea, now: datetime) -> None:
    if area.status == AreaStatus.ASSIGNED:
        area.status, area.changed_at = AreaStatus.COUNTING, now
        area.save(update_fields=["status", "changed_at"])


@transaction.atomic
def scan_record(*, actor: Actor, area: CountArea, scan_uuid: uuid_module.UUID, code: str,
                quantity: object = 1, lot: str = "", location: Location | None = None, device_id: str = "",
                scanned_at: datetime | None = None) -> ScanResult:
    """Count `quantity` of what `code` is (a barcode in any GTIN form, or a SKU) in the area. The same uuid
    again answers the first result and writes nothing, also when two connections send it at once."""
    actor.require(COUNTS_SCAN)
    if (found := _existing(actor, scan_uuid)) is not None:
        return ScanResult(found, ScanOutcome.DUPLICATE)
    area = CountArea.objects.select_for_update().select_related("session", "session__site", "location").get(
        pk=area.pk)
    site_access_require(actor, area.session.site_id, area.session.site.code)
    if actor.membership is None:
        raise Conflict("Only a person counts")
    now = timezone.now()
    scan, exception = scan_prepare(actor=actor, area=area, scan_uuid=scan_uuid, code=code, quantity=quantity, lot=lot,
                                   location=location, device_id=device_id, scanned_at=scanned_at, now=now,
                                   item_for=lambda text: _item_for(actor, text))
    result = _insert(scan, exception)
    if result is None:
        return ScanResult(_existing(actor, scan_uuid), ScanOutcome.DUPLICATE)  # type: ignore[arg-type]
    if exception is None or exception.kind != ExceptionKind.LATE:
        area_started_counting(area, now)
    return result


def undo_prepare(*, actor: Actor, area: CountArea, target: CountScan, scan_uuid: uuid_module.UUID, device_id: str,
                 scanned_at: datetime | None, now: datetime) -> CountScan:
    """The compensating scan for `target` (unsaved). It takes back what the scan counts as: its item, the item
    its exception was mapped to, or nothing; an open exception of the target is dismissed with it."""
    undone_item = target.item
    exception = getattr(target, "exception", None)
    if exception is not None:
        undone_item = exception.item if exception.status == ExceptionStatus.MAPPED else None
        if exception.status == ExceptionStatus.OPEN:
            exception.status, exception.resolved_at = ExceptionStatus.DISMISSED, now
            exception.resolved_by, exception.note = actor.user, "Undone by the counter"
            exception.save()
    return CountScan(organization=actor.organization, uuid=scan_uuid, session=area.session, area=area,
                     round=area.round, kind=ScanKind.UNDO, undoes=target, code=target.code, item=undone_item,
                     location=target.location, lot=target.lot, quantity=-target.quantity, counter=actor.membership,
                     device_id=device_id[:100], scanned_at=scanned_at or now, received_at=now)


def undoable(actor: Actor, area: CountArea) -> QuerySet[CountScan]:
    """The person's scans in the area's current round that are not undone yet."""
    return (CountScan.objects.filter(area=area, round=area.round, counter=actor.membership, kind=ScanKind.SCAN,
                                     undone_by__isnull=True).select_related("exception"))


@transaction.atomic
def scan_undo(*, actor: Actor, area: CountArea, scan_uuid: uuid_module.UUID, device_id: str = "",
              scanned_at: datetime | None = None) -> ScanResult:
    """Take back the person's last scan in the area's current round with a compensating scan; idempotent by
    uuid like a scan."""
    actor.require(COUNTS_SCAN)
    if (found := _existing(actor, scan_uuid)) is not None:
        return ScanResult(found, ScanOutcome.DUPLICATE)
    area = CountArea.objects.select_for_update().select_related("session", "session__site", "location").get(
        pk=area.pk)
    site_access_require(actor, area.session.site_id, area.session.site.code)
    if (refusal := _refusal(area, actor)) is not None:
        raise Conflict(refusal)
    last = undoable(actor, area).order_by("-pk").first()
    if last is None:
        raise Conflict(f"Nothing of yours to undo in area {area.barcode}")
    undo = undo_prepare(actor=actor, area=area, target=last, scan_uuid=scan_uuid, device_id=device_id,
                        scanned_at=scanned_at, now=timezone.now())
    result = _insert(undo, None)
    if result is None:
        return ScanResult(_existing(actor, scan_uuid), ScanOutcome.DUPLICATE)  # type: ignore[arg-type]
    return result


def _exception_locked(exception: CountException) -> CountException:
    return (CountException.objects.select_for_update().select_related("scan", "session", "session__site", "area")
            .get(pk=exception.pk))


def _resolvable(actor: Actor, exception: CountException) -> None:
    actor.require(COUNTS_MANAGE)
    site_access_require(actor, exception.session.site_id, exception.session.site.code)
    if exception.status != ExceptionStatus.OPEN:
        raise Conflict(f"This exception is {exception.status} already")
    if exception.session.status != "in_progress":
        raise Conflict(f"Count {exception.session.name} is {exception.session.status.replace('_', ' ')}")


@transaction.atomic
def exception_map(*, actor: Actor, exception: CountException, item: Item | None = None,
                  add_barcode: bool = False) -> CountException:
    """Count the exception's scan as `item` (an unknown code), or as scanned (a late scan, item optional);
    `add_barcode` also gives the item the unknown code, so the next scan of it is found."""
    exception = _exception_locked(exception)
    _resolvable(actor, exception)
    item = item or exception.item
    if item is None:
        raise InvalidInput("Choose the item this code is", field="item_id")
    if item.tracks_lots and not exception.scan.lot:
        raise InvalidInput(f"{item.sku} is lot-tracked and the scan has no lot: dismiss it and count it again",
                           field="item_id")
    if add_barcode:
        if exception.kind != ExceptionKind.UNKNOWN_CODE:
            raise InvalidInput("Only an unknown code can be added to an item", field="add_barcode")
        item_barcode_add(actor=actor, item=item, code=exception.scan.code)
    exception.status, exception.item = ExceptionStatus.MAPPED, item
    exception.resolved_by, exception.resolved_at = actor.user, timezone.now()
    exception.save()
    audit_record(actor=actor, action="count_exception.map", obj=exception,
                 after={"code": exception.scan.code, "item": item.sku, "barcode_added": add_barcode})
    return exception


@transaction.atomic
def exception_dismiss(*, actor: Actor, exception: CountException, reason: str) -> CountException:
    """Leave the scan out of the count, with the reason."""
    exception = _exception_locked(exception)
    _resolvable(actor, exception)
    exception.status, exception.note = ExceptionStatus.DISMISSED, reason_check(reason)
    exception.resolved_by, exception.resolved_at = actor.user, timezone.now()
    exception.save()
    audit_record(actor=actor, action="count_exception.dismiss", obj=exception,
                 after={"code": exception.scan.code, "reason": exception.note})
    return exception


