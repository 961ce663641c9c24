"""Batch sync for offline clients: up to SYNC_MAX scans (and undos) a request, each answered by itself
(accepted, duplicate, exception or rejected with its reason), idempotent by uuid, in one transaction so that a
request that fails writes nothing. Work goes CHUNK scans at a time, so memory and statements stay bounded."""

import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from stocktrace.core.errors import Conflict, DomainError, InvalidInput
from stocktrace.counts.models import CountArea, CountDevice, CountException, CountScan, ExceptionKind, ScanKind
from stocktrace.counts.permissions import COUNTS_SCAN
from stocktrace.counts.services.scans import (
    ScanOutcome,
    _refusal,
    area_started_counting,
    scan_prepare,
    undo_prepare,
    undoable,
)
from stocktrace.inventory import selectors as inventory
from stocktrace.inventory.models import Location
from stocktrace.tenancy.actor import Actor

SYNC_MAX = 5000
CHUNK = 500
REJECTED = "rejected"


@dataclass(frozen=True)
class SyncScan:
    """One scan of a batch, as the client queued it; an undo names the scan it takes back (`undoes`)."""

    uuid: uuid_module.UUID
    area_id: int
    kind: str = ScanKind.SCAN
    code: str = ""
    quantity: Decimal = Decimal(1)
    lot: str = ""
    location_id: int | None = None
    scanned_at: datetime | None = None
    undoes: uuid_module.UUID | None = None


@dataclass(frozen=True)
class SyncAnswer:
    uuid: uuid_module.UUID
    outcome: str  # accepted, duplicate, exception or rejected
    scan_id: int | None = None
    reason: str = ""


def _visible(actor: Actor, area: CountArea) -> bool:
    return actor.site_ids is None or area.session.site_id in actor.site_ids


class _Batch:
    """One request's answers by position, the uuids it wrote, and the scans waiting to be written."""

    def __init__(self, actor: Actor, device_id: str, size: int) -> None:
        self.actor, self.device_id = actor, device_id
        self.token, self.now = uuid_module.uuid4(), timezone.now()
        self.answers: list[SyncAnswer | None] = [None] * size
        self.first: dict[uuid_module.UUID, int] = {}  # uuid → the position that carried it first
        self.waiting: list[tuple[int, CountScan, CountException | None]] = []

    def answer(self, position: int, scan_uuid: uuid_module.UUID, outcome: str, scan_id: int | None = None,
               reason: str = "") -> None:
        self.answers[position] = SyncAnswer(scan_uuid, outcome, scan_id, reason)


@transaction.atomic
def scans_sync(*, actor: Actor, device_id: str, scans: list[SyncScan], app_version: str = "", pending: int = 0,
               error: str = "") -> tuple[list[SyncAnswer], CountDevice]:
    actor.require(COUNTS_SCAN)
    if actor.membership is None:
        raise Conflict("Only a person counts")
    if not device_id.strip():
        raise InvalidInput("Name the device (device_id)", field="device_id")
    if len(scans) > SYNC_MAX:
        raise InvalidInput(f"At most {SYNC_MAX} scans a request; send the rest in the next", field="scans")
    batch = _Batch(actor, device_id, len(scans))
    numbered = list(enumerate(scans))
    for start in range(0, len(scans), CHUNK):
        _sync_chunk(batch, numbered[start:start + CHUNK])
    # A uuid sent twice in one request: the later positions answer the first one's scan, as duplicates.
    for position, scan in numbered:
        if batch.first[scan.uuid] != position:
            first = batch.answers[batch.first[scan.uuid]]
            batch.answer(position, scan.uuid, ScanOutcome.DUPLICATE, first.scan_id if first else None)
    answers = [answer for answer in batch.answers if answer is not None]
    written = sum(1 for a in answers if a.outcome in (ScanOutcome.ACCEPTED, ScanOutcome.EXCEPTION))
    device = _device_update(actor, device_id, app_version=app_version, pending=pending, error=error, now=batch.now,
                            synced=written)
    return answers, device


def _sync_chunk(batch: _Batch, chunk: list[tuple[int, SyncScan]]) -> None:
    org = batch.actor.organization
    known = dict(CountScan.objects.for_org(org).filter(uuid__in=[scan.uuid for _, scan in chunk])
                 .values_list("uuid", "pk"))
    areas = {area.pk: area for area in CountArea.objects.for_org(org).filter(pk__in={s.area_id for _, s in chunk})
             .select_related("session", "session__site", "location").select_for_update(of=("self",))}
    locations = Location.objects.for_org(org).in_bulk({s.location_id for _, s in chunk if s.location_id})
    items = inventory.items_by_codes(actor=batch.actor, codes={s.code for _, s in chunk if s.kind == ScanKind.SCAN})
    for position, scan in chunk:
        if scan.uuid in batch.first:
            continue  # answered at the end, from the first
        batch.first[scan.uuid] = position
        if scan.uuid in known:
            batch.answer(position, scan.uuid, ScanOutcome.DUPLICATE, known[scan.uuid])
            continue
        area = areas.get(scan.area_id)
        try:
            if area is None or not _visible(batch.actor, area):
                raise InvalidInput("No such count area", field="area_id")
            if scan.kind == ScanKind.UNDO:
                _flush(batch)  # the scan it takes back may be in this very chunk
                batch.answer(position, scan.uuid, ScanOutcome.ACCEPTED, _undo(batch, area, scan))
                continue
            location = locations.get(scan.location_id) if scan.location_id else None
            if scan.location_id and location is None:
                raise InvalidInput("No such location", field="location_id")
            written, exception = scan_prepare(
                actor=batch.actor, area=area, scan_uuid=scan.uuid, code=scan.code, quantity=scan.quantity,
                lot=scan.lot, location=location, device_id=batch.device_id, scanned_at=scan.scanned_at,
                now=batch.now, item_for=items.get)
            batch.waiting.append((position, written, exception))
        except DomainError as refusal:
            batch.answer(position, scan.uuid, REJECTED, reason=str(refusal))
    _flush(batch)


def _flush(batch: _Batch) -> None:
    """Write the waiting scans in one statement; a uuid another connection wrote meanwhile is a duplicate."""
    if not batch.waiting:
        return
    org = batch.actor.organization
    for _, scan, _ in batch.waiting:
        scan.batch = batch.token
    CountScan.objects.bulk_create([scan for _, scan, _ in batch.waiting], ignore_conflicts=True)
    ours = dict(CountScan.objects.for_org(org).filter(uuid__in=[scan.uuid for _, scan, _ in batch.waiting],
                                                      batch=batch.token).values_list("uuid", "pk"))
    exceptions, started = [], {}
    for position, scan, exception in batch.waiting:
        if scan.uuid not in ours:
            theirs = CountScan.objects.for_org(org).filter(uuid=scan.uuid).values_list("pk", flat=True).first()
            batch.answer(position, scan.uuid, ScanOutcome.DUPLICATE, theirs)
            continue
        scan.pk = ours[scan.uuid]
        batch.answer(position, scan.uuid, ScanOutcome.EXCEPTION if exception else ScanOutcome.ACCEPTED, scan.pk,
                     exception.reason if exception else "")
        if exception is not None:
            exception.scan = scan
            exceptions.append(exception)
        if exception is None or exception.kind != ExceptionKind.LATE:
            started[scan.area_id] = scan.area
    CountException.objects.bulk_create(exceptions)
    for area in started.values():
        area_started_counting(area, batch.now)
    batch.waiting = []


def _undo(batch: _Batch, area: CountArea, scan: SyncScan) -> int:
    actor = batch.actor
    if (refusal := _refusal(area, actor)) is not None:
        raise Conflict(refusal)
    if scan.undoes is None:
        raise InvalidInput("An undo names the uuid of the scan it takes back (undoes)", field="undoes")
    target = undoable(actor, area).filter(uuid=scan.undoes).first()
    if target is None:
        raise Conflict("Nothing to undo: the scan is not yours in this area's current round, or undone already")
    undo = undo_prepare(actor=actor, area=area, target=target, scan_uuid=scan.uuid, device_id=batch.device_id,
                        scanned_at=scan.scanned_at, now=batch.now)
    undo.batch = batch.token
    undo.save()
    return undo.pk


def _device_update(actor: Actor, device_id: str, *, app_version: str, pending: int, error: str, now: datetime,
                   synced: int) -> CountDevice:
    device, _ = CountDevice.objects.select_for_update().get_or_create(
        organization=actor.organization, device_id=device_id.strip()[:100], defaults={"last_sync_at": now})
    device.membership, device.last_sync_at = actor.membership, now
    device.app_version, device.pending, device.last_error = app_version[:50], max(pending, 0), error[:500]
    device.scans_synced += synced
    device.save()
    return device
