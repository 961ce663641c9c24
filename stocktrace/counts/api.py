"""Counts over the API: sessions, their areas, scans (idempotent by the client's uuid) and exceptions."""

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictInt

from stocktrace.accounts.selectors import member_get
from stocktrace.api.files import spreadsheet_doc, spreadsheet_response
from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import (
    Cursor,
    Filters,
    Flag,
    Input,
    Money,
    ObjectId,
    ObjectRef,
    Percent,
    Quantity,
    Timestamp,
    code_field,
    name_field,
)
from stocktrace.core.codes import code_pattern
from stocktrace.counts import selectors
from stocktrace.counts.models import (
    AreaStatus,
    CountKind,
    CountMode,
    DriftChoice,
    ExceptionKind,
    ExceptionStatus,
    SessionStatus,
)
from stocktrace.counts.permissions import COUNTS_EXPECTED, COUNTS_MANAGE, COUNTS_SCAN, COUNTS_VIEW
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import completion
from stocktrace.counts.services import scans as scan_services
from stocktrace.counts.services import sessions as session_services
from stocktrace.counts.services import sync as sync_services
from stocktrace.counts.services.scans import ScanOutcome
from stocktrace.inventory import selectors as inventory
from stocktrace.tenancy.selectors import site_get

router = Router(tags=["counts"])


class CountOut(Schema):
    id: int
    site_id: int
    site_code: str = Field(alias="site.code")
    name: str
    kind: CountKind
    mode: CountMode
    status: SessionStatus
    notes: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    cancel_reason: str


class CountPage(Page):
    items: list[CountOut]


class CountFilters(Filters):
    site_id: ObjectId | None = None
    status: SessionStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class CountIn(Input):
    site_id: ObjectRef
    name: str = name_field(100)
    kind: CountKind = CountKind.FULL
    mode: CountMode = CountMode.BLIND
    notes: str = Field("", max_length=2000)


class CountProgressOut(Schema):
    areas: int
    by_status: dict[str, int]
    scans: int
    last_scan_at: datetime | None
    scans_last_hour: int
    open_exceptions: int


class CountDetailOut(CountOut):
    progress: CountProgressOut

    @staticmethod
    def resolve_progress(obj):
        return selectors.session_progress(obj)


class AreasIn(Input):
    location_ids: list[ObjectRef] = Field(min_length=1, max_length=session_services.AREAS_AT_ONCE,
                                          description="each location, with everything under it, becomes one area")


class AreaOut(Schema):
    id: int
    count_id: int = Field(alias="session_id")
    location_id: int
    location_code: str = Field(alias="location.code")
    number: int
    barcode: str
    status: AreaStatus
    round: int
    holder_email: str | None
    reject_reason: str
    changed_at: datetime

    @staticmethod
    def resolve_holder_email(obj):
        return obj.holder.user.email if obj.holder_id else None


class AreaPage(Page):
    items: list[AreaOut]


class AreaFilters(Filters):
    status: AreaStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=500)


class AreaLineOut(Schema):
    item_id: int
    location_id: int
    lot: str
    counted: Decimal
    expected: Decimal | None = Field(description="null in a blind count for those who may not see it")


class AreaDetailOut(AreaOut):
    lines: list[AreaLineOut]
    my_total: Decimal = Field(description="what you counted in this round")

    @staticmethod
    def resolve_lines(obj, context):
        """What was counted in the current round per item × location × lot; what was expected too, except in
        a blind count for those who may not see it."""
        actor = context["request"].auth
        counted = selectors.area_counted(obj)
        show_expected = obj.session.mode == CountMode.VISIBLE or actor.can(COUNTS_EXPECTED)
        expected = selectors.area_expected(obj) if show_expected else {}
        return [{"item_id": item, "location_id": location, "lot": lot,
                 "counted": counted.get((item, location, lot), Decimal(0)),
                 "expected": expected.get((item, location, lot), Decimal(0)) if show_expected else None}
                for item, location, lot in sorted(set(counted) | set(expected))]

    @staticmethod
    def resolve_my_total(obj, context):
        return selectors.my_area_total(obj, context["request"].auth)


class ClaimIn(Input):
    barcode: str = code_field(description="the area label's barcode")


class AssignIn(Input):
    membership_id: ObjectRef


class ReasonIn(Input):
    reason: str = name_field(200)


class ScanIn(Input):
    uuid: UUID = Field(description="made by the client; sending the same uuid again changes nothing")
    code: str = code_field(description="an item's barcode in any GTIN form, or its SKU")
    quantity: Quantity = Decimal(1)
    lot: str = Field("", max_length=64)
    location_id: ObjectRef | None = Field(None, description="the bin within the area; the area's own by default")
    device_id: str = Field("", max_length=100)
    scanned_at: Timestamp | None = Field(None, description="the device's clock; the server's when omitted")


class UndoIn(Input):
    uuid: UUID = Field(description="made by the client for the undo; sending it again changes nothing")
    device_id: str = Field("", max_length=100)
    scanned_at: Timestamp | None = None


class ScanOut(Schema):
    id: int
    uuid: UUID
    outcome: str = Field(description="accepted, duplicate (the first result of this uuid) or exception")
    area_id: int
    round: int
    kind: str
    code: str
    item_id: int | None
    location_id: int
    lot: str
    quantity: Decimal
    counter_email: str = Field(alias="counter.user.email")
    device_id: str
    scanned_at: datetime
    received_at: datetime
    exception_id: int | None

    @staticmethod
    def resolve_exception_id(obj):
        exception = getattr(obj, "exception", None)
        return exception.pk if exception else None


class ScanPage(Page):
    items: list[ScanOut]


class ScanFilters(Filters):
    round: int | None = Field(None, ge=1, le=32767)
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=500)


class ExceptionOut(Schema):
    id: int
    count_id: int = Field(alias="session_id")
    area_id: int
    kind: ExceptionKind
    status: ExceptionStatus
    code: str = Field(alias="scan.code")
    quantity: Decimal = Field(alias="scan.quantity")
    reason: str
    note: str
    item_id: int | None
    resolved_at: datetime | None


class ExceptionPage(Page):
    items: list[ExceptionOut]


class ExceptionFilters(Filters):
    status: ExceptionStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=500)


class MapIn(Input):
    item_id: ObjectRef | None = Field(None, description="required for an unknown code")
    add_barcode: Flag = Field(False, description="also give the item this code, so it is found next time")


class MovementChoiceIn(Input):
    item_id: ObjectRef
    location_id: ObjectRef
    lot: str = Field("", max_length=64)
    choice: DriftChoice


class ApproveIn(Input):
    movements: list[MovementChoiceIn] = Field(
        default_factory=list, max_length=10000,
        description="for each line whose stock moved during the count (see the area's variances): whether the "
                    "count is what lies there now (as_counted) or what lay there at the start (plus_movements)")


class VarianceOut(Schema):
    item_id: int
    location_id: int
    lot: str
    expected: Decimal
    counted: Decimal
    difference: Decimal
    value: Decimal
    percent: Decimal | None = Field(description="of what was expected; null when nothing was")
    moved: Decimal = Field(description="what moved in the ledger since the snapshot; non-zero needs a choice")
    status: str = Field(description="match, over, short, missing (expected, not counted) or unexpected")


class CountSettingsOut(Schema):
    area_barcode_format: str
    tolerance_percent: Decimal | None
    tolerance_value: Decimal | None
    auto_approve: bool


_TEXT_OR_FIELD = r"(?:[!-z|~]|\{(?:DD|MM|YY|YYYY|SITE|NNN)\})"
BARCODE_FORMAT_PATTERN = rf"^{_TEXT_OR_FIELD}*\{{NNN\}}{_TEXT_OR_FIELD}*$"


class CountSettingsPatch(Input):
    """Only the fields sent change; null removes a tolerance."""

    area_barcode_format: str | None = Field(None, max_length=40, pattern=BARCODE_FORMAT_PATTERN,
                                            description="printable ASCII with {NNN}, the area's number; may hold "
                                                        "{DD} {MM} {YY} {YYYY} {SITE}")
    tolerance_percent: Percent | None = None
    tolerance_value: Money | None = None
    auto_approve: Flag | None = None


class ReportFilters(Filters):
    format: str = Field("csv", pattern="^(csv|xlsx)$")


REPORT_COLUMNS = ("area", "location", "sku", "name", "lot", "expected", "counted", "moved during the count",
                  "choice", "correction posted", "unit cost", "value of the correction", "counted by",
                  "approved by", "approved at")


class SyncScanIn(Input):
    uuid: UUID
    area_id: ObjectRef
    kind: Literal["scan", "undo"] = "scan"
    code: str = Field("", pattern=f"^$|{code_pattern(64)}", max_length=64,
                      description="for a scan: the item's barcode or SKU")
    quantity: Quantity = Decimal(1)
    lot: str = Field("", max_length=64)
    location_id: ObjectRef | None = None
    scanned_at: Timestamp | None = None
    undoes: UUID | None = Field(None, description="for an undo: the uuid of the scan it takes back")


class SyncIn(Input):
    device_id: str = name_field(100)
    app_version: str = Field("", max_length=50)
    pending: StrictInt = Field(0, ge=0, le=10_000_000, description="scans the device still holds after this batch")
    error: str = Field("", max_length=500, description="the device's last sync error, if any")
    scans: list[SyncScanIn] = Field(max_length=sync_services.SYNC_MAX)


class SyncResultOut(Schema):
    uuid: UUID
    outcome: Literal["accepted", "duplicate", "exception", "rejected"]
    scan_id: int | None
    reason: str


class DeviceOut(Schema):
    device_id: str
    member_email: str | None
    app_version: str
    last_sync_at: datetime
    pending: int
    last_error: str
    scans_synced: int

    @staticmethod
    def resolve_member_email(obj):
        return obj.membership.user.email if obj.membership_id else None


class SyncOut(Schema):
    results: list[SyncResultOut]
    device: DeviceOut


class ScannerOut(Schema):
    membership_id: int
    email: str
    role: str
    areas: list[str] = Field(description="the barcodes of the areas the person holds now")
    scans: int
    last_scan_at: datetime | None
    idle_seconds: int | None = Field(description="since the last scan; null before the first")


class MyStatsOut(Schema):
    scans: int
    undos: int
    areas_held: list[str]
    areas_submitted: int


class DevicePage(Page):
    items: list[DeviceOut]


class DeviceFilters(Filters):
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=500)


def _scan_answer(result):
    """201 with the scan; for a uuid sent before, the first scan again (`outcome` says `duplicate`)."""
    scan = result.scan
    scan.outcome = result.outcome
    return Status(201, scan)


@router.get("/counts", response=CountPage)
@requires(COUNTS_VIEW)
def counts_index(request, filters: Query[CountFilters]):
    counts = selectors.sessions_visible(actor=request.auth, site_id=filters.site_id, status=filters.status)
    return keyset_page(counts, cursor=filters.cursor, limit=filters.limit)


@router.post("/counts", response={201: CountDetailOut})
@requires(COUNTS_MANAGE)
def counts_create(request, payload: CountIn):
    """Plan a count of a site; add its areas, then start it."""
    site = site_get(actor=request.auth, site_id=payload.site_id)
    return Status(201, session_services.session_plan(actor=request.auth, site=site, name=payload.name,
                                                     kind=payload.kind, mode=payload.mode, notes=payload.notes))


@router.get("/counts/{count_id}", response=CountDetailOut)
@requires(COUNTS_VIEW)
def counts_show(request, count_id: ObjectId):
    return selectors.session_get(actor=request.auth, session_id=count_id)


@router.post("/counts/{count_id}/areas", response={201: list[AreaOut]})
@requires(COUNTS_MANAGE)
def counts_areas_add(request, count_id: ObjectId, payload: AreasIn):
    """Make locations (each with everything under it) areas of the count, each with a barcode for its label."""
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    locations = [inventory.location_get(actor=request.auth, location_id=pk)
                 for pk in dict.fromkeys(payload.location_ids)]
    return Status(201, session_services.areas_add(actor=request.auth, session=session, locations=locations))


@router.get("/counts/{count_id}/areas", response=AreaPage)
@requires(COUNTS_VIEW)
def counts_areas_index(request, count_id: ObjectId, filters: Query[AreaFilters]):
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    areas = selectors.areas_of(actor=request.auth, session=session, status=filters.status)
    return keyset_page(areas, cursor=filters.cursor, limit=filters.limit, newest_first=False)


@router.post("/counts/{count_id}/start", response=CountDetailOut)
@requires(COUNTS_MANAGE)
def counts_start(request, count_id: ObjectId):
    """Snapshot what the ledger holds in every area and open the count for scanning."""
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    return session_services.session_start(actor=request.auth, session=session)


@router.post("/counts/{count_id}/cancel", response=CountDetailOut)
@requires(COUNTS_MANAGE)
def counts_cancel(request, count_id: ObjectId, payload: ReasonIn):
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    return session_services.session_cancel(actor=request.auth, session=session, reason=payload.reason)


@router.post("/counts/{count_id}/complete", response=CountDetailOut)
@requires(COUNTS_MANAGE)
def counts_complete(request, count_id: ObjectId):
    """With every area approved and every exception resolved: post the corrections to the ledger, raise the
    discrepancy alerts and freeze the report, in one transaction."""
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    return completion.session_complete(actor=request.auth, session=session)


@router.get("/counts/{count_id}/report", openapi_extra=spreadsheet_doc("The frozen report of a completed count"))
@requires(COUNTS_EXPECTED)
def counts_report(request, count_id: ObjectId, filters: Query[ReportFilters]):
    """A completed count's lines: expected, counted, what moved, the correction posted and its value, who
    counted and who approved, and when."""
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    rows = selectors.report_rows(session)
    return spreadsheet_response(REPORT_COLUMNS, rows, name=f"count-{session.pk}", fmt=filters.format)


@router.get("/count-settings", response=CountSettingsOut)
@requires(COUNTS_VIEW)
def count_settings_show(request):
    return session_services.count_settings(request.auth.organization)


@router.patch("/count-settings", response=CountSettingsOut)
@requires(COUNTS_MANAGE)
def count_settings_update(request, payload: CountSettingsPatch):
    changes = {name: value for name, value in payload.dict(exclude_unset=True).items()
               if value is not None or name.startswith("tolerance")}
    return session_services.count_settings_update(actor=request.auth, **changes)


@router.get("/counts/{count_id}/scanners", response=list[ScannerOut])
@requires(COUNTS_MANAGE)
def counts_scanners(request, count_id: ObjectId):
    """Everyone on the count (its site's counters and supervisors, and whoever holds an area or scanned): the
    areas held, scans so far, the last scan and the idle time."""
    return selectors.scanner_status(selectors.session_get(actor=request.auth, session_id=count_id))


@router.get("/counts/{count_id}/me", response=MyStatsOut)
@requires(COUNTS_SCAN)
def counts_my_stats(request, count_id: ObjectId):
    """Your own numbers in this count, and only this count."""
    return selectors.personal_stats(selectors.session_get(actor=request.auth, session_id=count_id), request.auth)


@router.get("/counts/{count_id}/exceptions", response=ExceptionPage)
@requires(COUNTS_VIEW)
def counts_exceptions_index(request, count_id: ObjectId, filters: Query[ExceptionFilters]):
    session = selectors.session_get(actor=request.auth, session_id=count_id)
    exceptions = selectors.exceptions_of(actor=request.auth, session=session, status=filters.status)
    return keyset_page(exceptions, cursor=filters.cursor, limit=filters.limit, newest_first=False)


@router.post("/count-areas/claim", response=AreaOut)
@requires(COUNTS_SCAN)
def count_areas_claim(request, payload: ClaimIn):
    """Take an area by scanning its label: a free one, or one rejected back to you."""
    area = selectors.area_by_barcode(actor=request.auth, barcode=payload.barcode)
    return area_services.area_claim(actor=request.auth, area=area)


@router.get("/count-areas/{area_id}", response=AreaDetailOut)
@requires(COUNTS_VIEW)
def count_areas_show(request, area_id: ObjectId):
    """The area with what was counted in its current round, per item × location × lot; the expected quantities
    too, except in a blind count for those who may not see them."""
    return selectors.area_get(actor=request.auth, area_id=area_id)


@router.post("/count-areas/{area_id}/assign", response=AreaOut)
@requires(COUNTS_MANAGE)
def count_areas_assign(request, area_id: ObjectId, payload: AssignIn):
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    holder = member_get(actor=request.auth, membership_id=payload.membership_id)
    return area_services.area_assign(actor=request.auth, area=area, holder=holder)


@router.post("/count-areas/{area_id}/release", response=AreaOut)
@requires(COUNTS_MANAGE)
def count_areas_release(request, area_id: ObjectId):
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    return area_services.area_release(actor=request.auth, area=area)


@router.post("/count-areas/{area_id}/submit", response=AreaOut)
@requires(COUNTS_SCAN)
def count_areas_submit(request, area_id: ObjectId):
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    return area_services.area_submit(actor=request.auth, area=area)


@router.post("/count-areas/{area_id}/approve", response=AreaOut)
@requires(COUNTS_MANAGE)
def count_areas_approve(request, area_id: ObjectId, payload: ApproveIn):
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    choices = {(m.item_id, m.location_id, m.lot): m.choice.value for m in payload.movements}
    return area_services.area_approve(actor=request.auth, area=area, choices=choices)


@router.get("/count-areas/{area_id}/variances", response=list[VarianceOut])
@requires(COUNTS_EXPECTED)
def count_areas_variances(request, area_id: ObjectId):
    """Per item × location × lot of the area: expected, counted in the current round, the difference in
    quantity, value and percent, and what moved in the ledger during the count."""
    return selectors.area_variance(selectors.area_get(actor=request.auth, area_id=area_id))


@router.post("/count-areas/{area_id}/reject", response=AreaOut)
@requires(COUNTS_MANAGE)
def count_areas_reject(request, area_id: ObjectId, payload: ReasonIn):
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    return area_services.area_reject(actor=request.auth, area=area, reason=payload.reason)


@router.post("/count-areas/{area_id}/scans", response={201: ScanOut})
@requires(COUNTS_SCAN)
def count_areas_scan(request, area_id: ObjectId, payload: ScanIn):
    """Count what a code is in the area: `accepted`, or `exception` (an unknown code, kept for a supervisor);
    `duplicate` with the first scan when the uuid was sent before, which changes nothing."""
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    location = inventory.location_get(actor=request.auth, location_id=payload.location_id) \
        if payload.location_id else None
    return _scan_answer(scan_services.scan_record(
        actor=request.auth, area=area, scan_uuid=payload.uuid, code=payload.code, quantity=payload.quantity,
        lot=payload.lot, location=location, device_id=payload.device_id, scanned_at=payload.scanned_at))


@router.post("/count-areas/{area_id}/undo", response={201: ScanOut})
@requires(COUNTS_SCAN)
def count_areas_undo(request, area_id: ObjectId, payload: UndoIn):
    """Take back your last scan in the area with a compensating scan; `duplicate` when the uuid was sent before."""
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    return _scan_answer(scan_services.scan_undo(actor=request.auth, area=area, scan_uuid=payload.uuid,
                                                device_id=payload.device_id, scanned_at=payload.scanned_at))


@router.get("/count-areas/{area_id}/scans", response=ScanPage)
@requires(COUNTS_VIEW)
def count_areas_scans(request, area_id: ObjectId, filters: Query[ScanFilters]):
    area = selectors.area_get(actor=request.auth, area_id=area_id)
    scans = selectors.scans_of(actor=request.auth, area=area, round_no=filters.round)
    page = keyset_page(scans, cursor=filters.cursor, limit=filters.limit, newest_first=False)
    for scan in page["items"]:
        scan.outcome = ScanOutcome.EXCEPTION if getattr(scan, "exception", None) else ScanOutcome.ACCEPTED
    return page


@router.post("/count-sync", response=SyncOut)
@requires(COUNTS_SCAN)
def count_sync(request, payload: SyncIn):
    """An offline device's queue, up to 5,000 scans and undos (and the server's body limit): each answered by
    itself, in order — accepted, duplicate (sent before: nothing changes), exception (kept for a supervisor)
    or rejected with the reason. Send it again as often as needed: nothing is counted twice."""
    scans = [sync_services.SyncScan(uuid=s.uuid, area_id=s.area_id, kind=s.kind, code=s.code, quantity=s.quantity,
                                    lot=s.lot, location_id=s.location_id, scanned_at=s.scanned_at, undoes=s.undoes)
             for s in payload.scans]
    results, device = sync_services.scans_sync(actor=request.auth, device_id=payload.device_id, scans=scans,
                                               app_version=payload.app_version, pending=payload.pending,
                                               error=payload.error)
    return {"results": results, "device": device}


@router.get("/count-devices", response=DevicePage)
@requires(COUNTS_MANAGE)
def count_devices_index(request, filters: Query[DeviceFilters]):
    """Every device that synced, newest sync first: who uses it, what it still holds, its last error."""
    return keyset_page(selectors.devices_of(actor=request.auth), cursor=filters.cursor, limit=filters.limit)


@router.post("/count-exceptions/{exception_id}/map", response=ExceptionOut)
@requires(COUNTS_MANAGE)
def count_exceptions_map(request, exception_id: ObjectId, payload: MapIn):
    """Count the scan as an item (an unknown code), or as scanned (a late scan)."""
    exception = selectors.exception_get(actor=request.auth, exception_id=exception_id)
    item = inventory.item_get(actor=request.auth, item_id=payload.item_id) if payload.item_id else None
    return scan_services.exception_map(actor=request.auth, exception=exception, item=item,
                                       add_barcode=payload.add_barcode)


@router.post("/count-exceptions/{exception_id}/dismiss", response=ExceptionOut)
@requires(COUNTS_MANAGE)
def count_exceptions_dismiss(request, exception_id: ObjectId, payload: ReasonIn):
    exception = selectors.exception_get(actor=request.auth, exception_id=exception_id)
    return scan_services.exception_dismiss(actor=request.auth, exception=exception, reason=payload.reason)


ROUTES = [("", router)]
