from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Query, Router, Schema, Status
from pydantic import Field

from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import (
    Cursor,
    Filters,
    Flag,
    Input,
    Level,
    Money,
    ObjectId,
    ObjectRef,
    PlainDate,
    Quantity,
    SignedQuantity,
    StartedOut,
    code_field,
    name_field,
)
from stocktrace.core.codes import code_pattern
from stocktrace.inventory import selectors
from stocktrace.inventory.models import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    BarcodeKind,
    Location,
    LocationKind,
    MovementKind,
)
from stocktrace.inventory.permissions import ALERTS_MANAGE, CATALOG_MANAGE, INVENTORY_VIEW, STOCK_ADJUST, STOCK_MOVE
from stocktrace.inventory.services import alerts as alert_services
from stocktrace.inventory.services import catalog, ledger

router = Router()

# In a path as `{path:code}`: internal codes may hold "/" (`PAL/0001`), sent as %2F or as it is.
ScannedCode = Annotated[str, code_field()]


class LocationOut(Schema):
    id: int
    site_id: int
    parent_id: int | None
    kind: LocationKind
    code: str
    name: str
    barcode: str
    path: str
    archived_at: datetime | None


class LocationPage(Page):
    items: list[LocationOut]


class LocationFilters(Filters):
    site_id: ObjectId | None = None
    under_id: ObjectId | None = Field(None, description="only this location and everything under it")
    include_archived: bool = False
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=200)


class LocationIn(Input):
    site_id: ObjectRef
    code: str = code_field()
    kind: LocationKind = LocationKind.BIN
    name: str = Field("", max_length=150)
    parent_id: ObjectRef | None = None
    barcode: str = Field("", pattern=f"^$|{code_pattern(64)}", max_length=64,
                         description="generated as <SITE>-<CODE> when empty")


class LocationPatch(Input):
    """Only the fields sent change; null leaves a field as it is."""

    name: str | None = Field(None, max_length=150)
    kind: LocationKind | None = None
    barcode: str | None = code_field(default=None)


class LocationMove(Input):
    parent_id: ObjectRef | None = Field(description="the new parent, or null for the top of the site")


class ItemOut(Schema):
    id: int
    sku: str
    name: str
    unit: str
    unit_cost: Decimal
    min_level: Decimal | None
    max_level: Decimal | None
    tracks_lots: bool
    tracks_expiry: bool
    barcodes: list[str]
    archived_at: datetime | None

    @staticmethod
    def resolve_barcodes(obj):
        codes = getattr(obj, "barcode_codes", None)  # loaded with the item by a scan lookup
        return codes if codes is not None else [b.code for b in obj.barcodes.all()]


class ItemPage(Page):
    items: list[ItemOut]


class ItemFilters(Filters):
    search: str | None = Field(None, max_length=64, description="SKU prefix or part of the name")
    include_archived: bool = False
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class ItemIn(Input):
    sku: str = code_field()
    name: str = name_field(200)
    unit: str = name_field(16, "ea")
    unit_cost: Money = Decimal(0)
    min_level: Level | None = None
    max_level: Level | None = None
    tracks_lots: Flag = False
    tracks_expiry: Flag = False
    barcodes: list[Annotated[str, code_field()]] = Field(default_factory=list, max_length=50,
                                                   description="GTINs (with their check digit) or internal codes")


class ItemPatch(Input):
    """Only the fields sent change; null clears a level and leaves any other field as it is."""

    name: str | None = name_field(200, None)
    unit: str | None = name_field(16, None)
    unit_cost: Money | None = None
    min_level: Level | None = None
    max_level: Level | None = None
    tracks_lots: Flag | None = None
    tracks_expiry: Flag | None = None


class BarcodeIn(Input):
    code: str = code_field()
    kind: BarcodeKind | None = Field(None, description="guessed from the code when omitted")


class OnHandOut(Schema):
    id: int
    item_id: int
    sku: str = Field(alias="item.sku")
    location_id: int
    location_code: str = Field(alias="location.code")
    site_id: int
    lot: str
    expires_on: date | None
    quantity: Decimal


class OnHandPage(Page):
    items: list[OnHandOut]


class OnHandFilters(Filters):
    site_id: ObjectId | None = None
    location_id: ObjectId | None = Field(None, description="this location and everything under it")
    item_id: ObjectId | None = None
    lot: str | None = Field(None, max_length=64)
    include_zero: bool = False
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=200)


class MovementOut(Schema):
    id: int
    created_at: datetime
    kind: MovementKind
    item_id: int
    location_id: int
    site_id: int
    lot: str
    expires_on: date | None
    quantity: Decimal
    unit_cost: Decimal
    reason: str
    reference: str
    group: str | None
    actor_email: str | None

    @staticmethod
    def resolve_group(obj):
        return str(obj.group) if obj.group else None

    @staticmethod
    def resolve_actor_email(obj):
        return obj.actor.email if obj.actor else None


class MovementPage(Page):
    items: list[MovementOut]


class HistoryFilters(Filters):
    location_id: ObjectId | None = None
    cursor: Cursor | None = None
    limit: int = Field(100, ge=1, le=200)


class Posting(Input):
    item_id: ObjectRef
    location_id: ObjectRef
    quantity: Quantity
    lot: str = Field("", max_length=64)
    reference: str = Field("", max_length=100)
    reason: str = Field("", max_length=200)


class ReceiptIn(Posting):
    expires_on: PlainDate | None = None
    unit_cost: Money | None = Field(None, description="the item's unit cost when omitted or null")


class AdjustmentIn(Input):
    item_id: ObjectRef
    location_id: ObjectRef
    delta: SignedQuantity
    reason: str = name_field(200)
    lot: str = Field("", max_length=64)
    expires_on: PlainDate | None = None
    reference: str = Field("", max_length=100)


class TransferIn(Input):
    item_id: ObjectRef
    from_location_id: ObjectRef
    to_location_id: ObjectRef
    quantity: Quantity
    lot: str = Field("", max_length=64)
    reference: str = Field("", max_length=100)
    reason: str = Field("", max_length=200)


class AlertOut(Schema):
    id: int
    kind: AlertKind
    severity: AlertSeverity
    status: AlertStatus
    item_id: int
    sku: str = Field(alias="item.sku")
    site_id: int
    location_id: int | None
    lot: str
    message: str
    quantity: Decimal | None
    threshold: Decimal | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None = Field(description="who acknowledged it (e-mail)")
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="who resolved it (e-mail); null with a resolution when stocktrace "
                                                "resolved it itself")
    resolution: str = Field(description="why stocktrace resolved it: the stock recovered, the lot is gone")

    @staticmethod
    def resolve_acknowledged_by(alert) -> str | None:
        return alert.acknowledged_by.email if alert.acknowledged_by_id else None

    @staticmethod
    def resolve_resolved_by(alert) -> str | None:
        return alert.resolved_by.email if alert.resolved_by_id else None


class AlertPage(Page):
    items: list[AlertOut]


class AlertFilters(Filters):
    status: AlertStatus | None = None
    kind: AlertKind | None = None
    severity: AlertSeverity | None = None
    site_id: ObjectId | None = None
    item_id: ObjectId | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class LookupOut(Schema):
    item: ItemOut | None = None
    location: LocationOut | None = None


def _changes(patch: Input, clearable: frozenset[str] | set[str] = frozenset()) -> dict:
    """The fields a PATCH sent; null leaves a field as it is, except those it clears."""
    return {name: value for name, value in patch.dict(exclude_unset=True).items()
            if value is not None or name in clearable}


def _site(request, site_id):
    from stocktrace.tenancy.selectors import site_get

    return site_get(actor=request.auth, site_id=site_id)


@router.get("/locations", response=LocationPage, tags=["locations"])
@requires(INVENTORY_VIEW)
def locations_index(request, filters: Query[LocationFilters]):
    under = selectors.location_get(actor=request.auth, location_id=filters.under_id) if filters.under_id else None
    locations = selectors.locations_visible(actor=request.auth, site_id=filters.site_id, under=under,
                                            include_archived=filters.include_archived)
    return keyset_page(locations, cursor=filters.cursor, limit=filters.limit, newest_first=False)


@router.post("/locations", response={201: LocationOut}, tags=["locations"])
@requires(CATALOG_MANAGE)
def locations_create(request, payload: LocationIn):
    site = _site(request, payload.site_id)
    parent = selectors.location_get(actor=request.auth, location_id=payload.parent_id) if payload.parent_id else None
    return Status(201, catalog.location_create(actor=request.auth, site=site, code=payload.code, kind=payload.kind,
                                               name=payload.name, parent=parent, barcode=payload.barcode))


@router.get("/locations/{location_id}", response=LocationOut, tags=["locations"])
@requires(INVENTORY_VIEW)
def locations_show(request, location_id: ObjectId):
    return selectors.location_get(actor=request.auth, location_id=location_id)


@router.patch("/locations/{location_id}", response=LocationOut, tags=["locations"])
@requires(CATALOG_MANAGE)
def locations_update(request, location_id: ObjectId, payload: LocationPatch):
    location = selectors.location_get(actor=request.auth, location_id=location_id)
    return catalog.location_update(actor=request.auth, location=location, **_changes(payload))


@router.post("/locations/{location_id}/move", response=LocationOut, tags=["locations"])
@requires(CATALOG_MANAGE)
def locations_move(request, location_id: ObjectId, payload: LocationMove):
    location = selectors.location_get(actor=request.auth, location_id=location_id)
    parent = selectors.location_get(actor=request.auth, location_id=payload.parent_id) if payload.parent_id else None
    return catalog.location_move(actor=request.auth, location=location, parent=parent)


@router.post("/locations/{location_id}/archive", response=LocationOut, tags=["locations"])
@requires(CATALOG_MANAGE)
def locations_archive(request, location_id: ObjectId):
    """Archive a location and everything under it (refused while stock lies there); history stays."""
    location = selectors.location_get(actor=request.auth, location_id=location_id)
    return catalog.location_archive(actor=request.auth, location=location)


@router.get("/items", response=ItemPage, tags=["items"])
@requires(INVENTORY_VIEW)
def items_index(request, filters: Query[ItemFilters]):
    items = selectors.items_visible(actor=request.auth, search=filters.search,
                                    include_archived=filters.include_archived).prefetch_related("barcodes")
    return keyset_page(items, cursor=filters.cursor, limit=filters.limit, newest_first=False)


@router.post("/items", response={201: ItemOut}, tags=["items"])
@requires(CATALOG_MANAGE)
def items_create(request, payload: ItemIn):
    return Status(201, catalog.item_create(actor=request.auth, **payload.dict()))


@router.get("/items/{item_id}", response=ItemOut, tags=["items"])
@requires(INVENTORY_VIEW)
def items_show(request, item_id: ObjectId):
    return selectors.item_get(actor=request.auth, item_id=item_id)


@router.patch("/items/{item_id}", response=ItemOut, tags=["items"])
@requires(CATALOG_MANAGE)
def items_update(request, item_id: ObjectId, payload: ItemPatch):
    item = selectors.item_get(actor=request.auth, item_id=item_id)
    return catalog.item_update(actor=request.auth, item=item, **_changes(payload, clearable={"min_level", "max_level"}))


@router.post("/items/{item_id}/archive", response=ItemOut, tags=["items"])
@requires(CATALOG_MANAGE)
def items_archive(request, item_id: ObjectId):
    item = selectors.item_get(actor=request.auth, item_id=item_id)
    return catalog.item_archive(actor=request.auth, item=item)


@router.post("/items/{item_id}/barcodes", response={201: ItemOut}, tags=["items"])
@requires(CATALOG_MANAGE)
def items_barcode_add(request, item_id: ObjectId, payload: BarcodeIn):
    """Add a barcode: EAN/UPC/GTIN check digits are verified; codes are unique in the organization."""
    item = selectors.item_get(actor=request.auth, item_id=item_id)
    catalog.item_barcode_add(actor=request.auth, item=item, code=payload.code, kind=payload.kind)
    return Status(201, item)


@router.delete("/items/{item_id}/barcodes/{path:code}", response=ItemOut, tags=["items"])
@requires(CATALOG_MANAGE)
def items_barcode_remove(request, item_id: ObjectId, code: ScannedCode):
    item = selectors.item_get(actor=request.auth, item_id=item_id)
    catalog.item_barcode_remove(actor=request.auth, item=item, code=code)
    return item


@router.get("/items/{item_id}/movements", response=MovementPage, tags=["stock"])
@requires(INVENTORY_VIEW)
def items_movements(request, item_id: ObjectId, filters: Query[HistoryFilters]):
    """The item's ledger, newest first."""
    item = selectors.item_get(actor=request.auth, item_id=item_id)
    location = selectors.location_get(actor=request.auth, location_id=filters.location_id) \
        if filters.location_id else None
    movements = selectors.movements_of(actor=request.auth, item=item, location=location)
    return keyset_page(movements, cursor=filters.cursor, limit=filters.limit)


@router.get("/lookup/{path:code}", response=LookupOut, tags=["items"])
@requires(INVENTORY_VIEW)
def lookup(request, code: ScannedCode):
    """What a scanned code is: an item (by barcode or SKU) or a location (by barcode)."""
    found = selectors.item_or_location_by_code(actor=request.auth, code=code)
    return {"location": found} if isinstance(found, Location) else {"item": found}


@router.get("/stock", response=OnHandPage, tags=["stock"])
@requires(INVENTORY_VIEW)
def stock_on_hand(request, filters: Query[OnHandFilters]):
    """Stock on hand per item × location × lot, filtered by site, location subtree, item or lot."""
    location = selectors.location_get(actor=request.auth, location_id=filters.location_id) \
        if filters.location_id else None
    rows = selectors.on_hand_rows(actor=request.auth, site_id=filters.site_id, location=location,
                                  item_id=filters.item_id, lot=filters.lot, include_zero=filters.include_zero)
    return keyset_page(rows, cursor=filters.cursor, limit=filters.limit, newest_first=False)


def _posting_targets(request, payload):
    item = selectors.item_get(actor=request.auth, item_id=payload.item_id)
    location = selectors.location_get(actor=request.auth, location_id=payload.location_id)
    return item, location


@router.post("/stock/receipts", response={201: MovementOut}, tags=["stock"])
@requires(STOCK_MOVE)
def stock_receipts(request, payload: ReceiptIn):
    item, location = _posting_targets(request, payload)
    return Status(201, ledger.stock_receive(
        actor=request.auth, item=item, location=location, quantity_received=payload.quantity, lot=payload.lot,
        expires_on=payload.expires_on, unit_cost=payload.unit_cost, reference=payload.reference,
        reason=payload.reason))


@router.post("/stock/issues", response={201: MovementOut}, tags=["stock"])
@requires(STOCK_MOVE)
def stock_issues(request, payload: Posting):
    item, location = _posting_targets(request, payload)
    return Status(201, ledger.stock_issue(actor=request.auth, item=item, location=location,
                                          quantity_issued=payload.quantity, lot=payload.lot,
                                          reference=payload.reference, reason=payload.reason))


@router.post("/stock/adjustments", response={201: MovementOut}, tags=["stock"])
@requires(STOCK_ADJUST)
def stock_adjustments(request, payload: AdjustmentIn):
    item, location = _posting_targets(request, payload)
    return Status(201, ledger.stock_adjust(actor=request.auth, item=item, location=location, delta=payload.delta,
                                           reason=payload.reason, lot=payload.lot, expires_on=payload.expires_on,
                                           reference=payload.reference))


@router.post("/stock/transfers", response={201: list[MovementOut]}, tags=["stock"])
@requires(STOCK_MOVE)
def stock_transfers(request, payload: TransferIn):
    """Between two locations of one site or of two sites: a transfer_out and a transfer_in line."""
    item = selectors.item_get(actor=request.auth, item_id=payload.item_id)
    source = selectors.location_get(actor=request.auth, location_id=payload.from_location_id)
    destination = selectors.location_get(actor=request.auth, location_id=payload.to_location_id)
    return Status(201, ledger.stock_transfer(actor=request.auth, item=item, source=source, destination=destination,
                                             quantity_moved=payload.quantity, lot=payload.lot,
                                             reference=payload.reference, reason=payload.reason))


@router.get("/alerts", response=AlertPage, tags=["alerts"])
@requires(INVENTORY_VIEW)
def alerts_index(request, filters: Query[AlertFilters]):
    alerts = selectors.alerts_of(actor=request.auth, **filters.dict(exclude={"cursor", "limit"}))
    return keyset_page(alerts, cursor=filters.cursor, limit=filters.limit)


@router.post("/alerts/recheck", response={202: StartedOut}, tags=["alerts"])
@requires(ALERTS_MANAGE)
def alerts_recheck(request):
    """Recompute every stock alert (levels and expiry) as a job: what is due is raised, what is over is
    resolved. Follow it at `progress_url`."""
    return Status(202, StartedOut.of(alert_services.alerts_recheck_start(actor=request.auth)))


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut, tags=["alerts"])
@requires(ALERTS_MANAGE)
def alerts_acknowledge(request, alert_id: ObjectId):
    alert = selectors.alert_get(actor=request.auth, alert_id=alert_id)
    return alert_services.alert_acknowledge(actor=request.auth, alert=alert)


@router.post("/alerts/{alert_id}/resolve", response=AlertOut, tags=["alerts"])
@requires(ALERTS_MANAGE)
def alerts_resolve(request, alert_id: ObjectId):
    alert = selectors.alert_get(actor=request.auth, alert_id=alert_id)
    return alert_services.alert_resolve(actor=request.auth, alert=alert)
