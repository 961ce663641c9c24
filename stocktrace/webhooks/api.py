from datetime import datetime
from typing import Annotated, Any

from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictInt

from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import (
    NOT_BLANK,
    Cursor,
    Filters,
    Flag,
    Input,
    ObjectId,
    StartedOut,
    containing,
    one_of,
)
from stocktrace.events.catalogue import event_catalogue
from stocktrace.events.inbound import HANDLERS
from stocktrace.webhooks import selectors, services
from stocktrace.webhooks.models import DeliveryStatus, InboundStatus
from stocktrace.webhooks.permissions import WEBHOOKS_MANAGE

router = Router(tags=["webhooks"])
ROUTES = [("/webhooks", router)]


class SourceOut(Schema):
    id: int
    name: str
    slug: str
    handler: str
    is_active: bool
    rate_limit_per_minute: int
    url_path: str
    created_at: datetime
    previous_secret_valid_until: datetime | None = Field(
        description="After a rotation: until when pushes signed with the replaced secret are still accepted. "
                    "Null when they are not.")

    @staticmethod
    def resolve_url_path(obj):
        return f"/hooks/{obj.organization.slug}/{obj.slug}"

    @staticmethod
    def resolve_previous_secret_valid_until(obj):
        return obj.previous_secret_in_use_until()


class SourceWithSecret(SourceOut):
    secret: str = Field(description="The signing secret. Shown when created or rotated; store it now.")


# The slug in the source's URL is made of the name (or the slug given): either needs a letter or digit.
_SLUGGABLE = containing("[A-Za-z0-9]")


def _handlers():
    return HANDLERS


class SourceIn(Input):
    name: str = Field(min_length=1, max_length=100, pattern=_SLUGGABLE, description="with a letter or digit (A-Z, 0-9)")
    slug: str = Field("", max_length=60, pattern=f"^$|{_SLUGGABLE}",
                      description="the last part of the source's URL; made of the name when empty")
    handler: str = one_of(_handlers, description="one of the handlers in GET /webhooks/catalogue")
    rate_limit_per_minute: StrictInt = Field(100, ge=1, le=100_000)


class SourcePatch(Input):
    name: str | None = Field(None, min_length=1, max_length=100, pattern=NOT_BLANK)
    handler: str | None = one_of(_handlers, default=None)
    is_active: Flag | None = None
    rate_limit_per_minute: StrictInt | None = Field(None, ge=1, le=100_000)


class RotateIn(Input):
    keep_previous_hours: StrictInt = Field(
        services.KEEP_PREVIOUS_HOURS_DEFAULT, ge=0, le=services.KEEP_PREVIOUS_HOURS_MAX,
        description="How many hours the replaced secret is still accepted, so the sender can switch over; "
                    "0 ends it at once.")


class DryRunIn(Input):
    # Any JSON: that no text in it may hold NUL (refused for every request) would take a schema referring to
    # itself, which neither openapi-spec-validator nor openapi-python-client can follow.
    payload: Any = Field(description="the JSON body the source would send (any JSON; no text in it may hold NUL)")


class DryRunOut(Schema):
    ok: bool
    result: dict | None = None
    error: str | None = None


class InboundOut(Schema):
    id: int
    source_id: int
    delivery_id: str
    received_at: datetime
    status: InboundStatus
    attempts: int
    result: dict | None
    error: str
    processed_at: datetime | None
    replayable: bool = Field(description="false while waiting, and once processed by a handler that is not "
                                         "repeatable (stock.receipt)")


class InboundDetail(InboundOut):
    headers: dict
    body: str


class InboundPage(Page):
    items: list[InboundOut]


class InboundFilters(Filters):
    status: InboundStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class DeliveryFilters(Filters):
    status: DeliveryStatus | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class SubscriptionOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool
    created_at: datetime
    previous_secret_valid_until: datetime | None = Field(
        description="After a rotation: until when deliveries also carry a signature made with the replaced "
                    "secret. Null when they do not.")

    @staticmethod
    def resolve_previous_secret_valid_until(obj):
        return obj.previous_secret_in_use_until()


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="The signing secret. Shown when created or rotated; store it now.")


_URL = "^https?://[^\\u0000]+$"
EventName = Annotated[str, one_of(event_catalogue)]


class SubscriptionIn(Input):
    url: str = Field(min_length=8, max_length=500, pattern=_URL, description="http:// or https://")
    events: list[EventName] = Field(min_length=1, max_length=50)
    description: str = Field("", max_length=200)


class SubscriptionPatch(Input):
    url: str | None = Field(None, min_length=8, max_length=500, pattern=_URL, description="http:// or https://")
    events: list[EventName] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=200)
    is_active: Flag | None = None


class DeliveryAttemptOut(Schema):
    attempted_at: datetime
    status_code: int | None
    response_ms: float
    error: str
    response_excerpt: str


class OutboundOut(Schema):
    id: int
    subscription_id: int
    event: str = Field(alias="event.name")
    event_id: int
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


class OutboundDetail(OutboundOut):
    payload: dict = Field(alias="event.payload")
    attempt_log: list[DeliveryAttemptOut]

    @staticmethod
    def resolve_attempt_log(obj):
        return list(obj.attempt_log.order_by("attempted_at"))


class OutboundPage(Page):
    items: list[OutboundOut]


class Catalogue(Schema):
    handlers: dict[str, str]
    events: dict[str, str]


@router.get("/catalogue", response=Catalogue)
@requires(WEBHOOKS_MANAGE)
def webhooks_catalogue(request):
    """The inbound handlers a source can use and the events a subscription can ask for."""
    return {"handlers": {name: (fn.__doc__ or "").strip() for name, fn in HANDLERS.items()},
            "events": event_catalogue()}


@router.get("/sources", response=list[SourceOut])
@requires(WEBHOOKS_MANAGE)
def sources_index(request):
    return list(selectors.sources_of(actor=request.auth).select_related("organization").order_by("pk")[:500])


@router.post("/sources", response={201: SourceWithSecret})
@requires(WEBHOOKS_MANAGE)
def sources_create(request, payload: SourceIn):
    return Status(201, services.source_create(actor=request.auth, **payload.dict()))


@router.get("/sources/{source_id}", response=SourceOut)
@requires(WEBHOOKS_MANAGE)
def sources_show(request, source_id: ObjectId):
    return selectors.source_get(actor=request.auth, source_id=source_id)


@router.patch("/sources/{source_id}", response=SourceOut)
@requires(WEBHOOKS_MANAGE)
def sources_update(request, source_id: ObjectId, payload: SourcePatch):
    source = selectors.source_get(actor=request.auth, source_id=source_id)
    return services.source_update(actor=request.auth, source=source, **payload.dict(exclude_unset=True))


@router.post("/sources/{source_id}/rotate-secret", response=SourceWithSecret)
@requires(WEBHOOKS_MANAGE)
def sources_rotate_secret(request, source_id: ObjectId, payload: RotateIn | None = None):
    """A new signing secret. The old one is still accepted for `keep_previous_hours` (24 unless given)."""
    source = selectors.source_get(actor=request.auth, source_id=source_id)
    keep = services.KEEP_PREVIOUS_HOURS_DEFAULT if payload is None else payload.keep_previous_hours
    return services.source_rotate_secret(actor=request.auth, source=source, keep_previous_hours=keep)


@router.post("/sources/{source_id}/dry-run", response=DryRunOut)
@requires(WEBHOOKS_MANAGE)
def sources_dry_run(request, source_id: ObjectId, payload: DryRunIn):
    """What this payload would do if the source sent it — computed for real, then rolled back."""
    source = selectors.source_get(actor=request.auth, source_id=source_id)
    return services.inbound_dry_run(actor=request.auth, source=source, payload=payload.payload)


@router.get("/sources/{source_id}/deliveries", response=InboundPage)
@requires(WEBHOOKS_MANAGE)
def sources_deliveries(request, source_id: ObjectId, filters: Query[InboundFilters]):
    source = selectors.source_get(actor=request.auth, source_id=source_id)
    deliveries = selectors.inbound_deliveries_of(actor=request.auth, source=source, status=filters.status)
    return keyset_page(deliveries, cursor=filters.cursor, limit=filters.limit)


@router.get("/inbound/{delivery_id}", response=InboundDetail)
@requires(WEBHOOKS_MANAGE)
def inbound_show(request, delivery_id: ObjectId):
    """A received payload exactly as stored, with its processing status."""
    return selectors.inbound_delivery_get(actor=request.auth, delivery_id=delivery_id)


@router.post("/inbound/{delivery_id}/replay", response=InboundOut)
@requires(WEBHOOKS_MANAGE)
def inbound_replay(request, delivery_id: ObjectId):
    delivery = selectors.inbound_delivery_get(actor=request.auth, delivery_id=delivery_id)
    return services.inbound_replay(actor=request.auth, delivery=delivery)


@router.get("/subscriptions", response=list[SubscriptionOut])
@requires(WEBHOOKS_MANAGE)
def subscriptions_index(request):
    return list(selectors.subscriptions_of(actor=request.auth).order_by("pk")[:500])


@router.post("/subscriptions", response={201: SubscriptionWithSecret})
@requires(WEBHOOKS_MANAGE)
def subscriptions_create(request, payload: SubscriptionIn):
    return Status(201, services.subscription_create(actor=request.auth, **payload.dict()))


@router.post("/subscriptions/{subscription_id}/rotate-secret", response=SubscriptionWithSecret)
@requires(WEBHOOKS_MANAGE)
def subscriptions_rotate_secret(request, subscription_id: ObjectId, payload: RotateIn | None = None):
    """A new signing secret. For `keep_previous_hours` (24 unless given), deliveries carry a second signature
    made with the old one, so the receiver can switch over without refusing a delivery."""
    subscription = selectors.subscription_get(actor=request.auth, subscription_id=subscription_id)
    keep = services.KEEP_PREVIOUS_HOURS_DEFAULT if payload is None else payload.keep_previous_hours
    return services.subscription_rotate_secret(actor=request.auth, subscription=subscription,
                                               keep_previous_hours=keep)


@router.get("/subscriptions/{subscription_id}", response=SubscriptionOut)
@requires(WEBHOOKS_MANAGE)
def subscriptions_show(request, subscription_id: ObjectId):
    return selectors.subscription_get(actor=request.auth, subscription_id=subscription_id)


@router.patch("/subscriptions/{subscription_id}", response=SubscriptionOut)
@requires(WEBHOOKS_MANAGE)
def subscriptions_update(request, subscription_id: ObjectId, payload: SubscriptionPatch):
    subscription = selectors.subscription_get(actor=request.auth, subscription_id=subscription_id)
    return services.subscription_update(actor=request.auth, subscription=subscription,
                                        **payload.dict(exclude_unset=True))


@router.post("/subscriptions/{subscription_id}/ping", response={202: OutboundOut})
@requires(WEBHOOKS_MANAGE)
def subscriptions_ping(request, subscription_id: ObjectId):
    """Send a `ping` event to the subscription now, to check the receiving side."""
    subscription = selectors.subscription_get(actor=request.auth, subscription_id=subscription_id)
    event = services.subscription_ping(actor=request.auth, subscription=subscription)
    return Status(202, event.deliveries.get())


@router.get("/subscriptions/{subscription_id}/deliveries", response=OutboundPage)
@requires(WEBHOOKS_MANAGE)
def subscriptions_deliveries(request, subscription_id: ObjectId, filters: Query[DeliveryFilters]):
    """The delivery log, newest first."""
    subscription = selectors.subscription_get(actor=request.auth, subscription_id=subscription_id)
    deliveries = selectors.outbound_deliveries_of(actor=request.auth, subscription=subscription,
                                                  status=filters.status)
    return keyset_page(deliveries, cursor=filters.cursor, limit=filters.limit)


@router.get("/outbound/{delivery_id}", response=OutboundDetail)
@requires(WEBHOOKS_MANAGE)
def outbound_show(request, delivery_id: ObjectId):
    """One delivery with its payload and every attempt (status code, response time, error)."""
    return selectors.outbound_delivery_get(actor=request.auth, delivery_id=delivery_id)


@router.post("/outbound/{delivery_id}/redeliver", response=OutboundOut)
@requires(WEBHOOKS_MANAGE)
def outbound_redeliver(request, delivery_id: ObjectId):
    delivery = selectors.outbound_delivery_get(actor=request.auth, delivery_id=delivery_id)
    return services.outbound_redeliver(actor=request.auth, delivery=delivery)


@router.post("/resync/sites", response={202: StartedOut})
@requires(WEBHOOKS_MANAGE)
def resync_sites(request):
    """Announce every site again (site.updated) to the subscriptions; follow the job at `progress_url`."""
    task_id = services.sites_resync_start(actor=request.auth)
    return Status(202, StartedOut.of(task_id))
