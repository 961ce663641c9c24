import time
from typing import TypeVar

from django.db import models
from django.db.models import QuerySet

from stocktrace.core.errors import NotFound
from stocktrace.tenancy.actor import Actor
from stocktrace.webhooks.models import (
    InboundDelivery,
    OutboundDelivery,
    WebhookSource,
    WebhookSubscription,
)
from stocktrace.webhooks.permissions import WEBHOOKS_MANAGE

_M = TypeVar("_M", bound=models.Model)


def _one(queryset: QuerySet[_M], pk: int, what: str) -> _M:
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No such {what}")
    return found


def sources_of(*, actor: Actor) -> QuerySet[WebhookSource]:
    actor.require(WEBHOOKS_MANAGE)
    return WebhookSource.objects.for_org(actor.organization)


def source_get(*, actor: Actor, source_id: int) -> WebhookSource:
    return _one(sources_of(actor=actor), source_id, "webhook source")


def inbound_deliveries_of(*, actor: Actor, source: WebhookSource | None = None,
                          status: str | None = None) -> QuerySet[InboundDelivery]:
    actor.require(WEBHOOKS_MANAGE)
    deliveries = InboundDelivery.objects.for_org(actor.organization).select_related("source")
    if source is not None:
        deliveries = deliveries.filter(source=source)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def inbound_delivery_get(*, actor: Actor, delivery_id: int) -> InboundDelivery:
    return _one(inbound_deliveries_of(actor=actor), delivery_id, "inbound delivery")


def subscriptions_of(*, actor: Actor) -> QuerySet[WebhookSubscription]:
    actor.require(WEBHOOKS_MANAGE)
    return WebhookSubscription.objects.for_org(actor.organization)


def subscription_get(*, actor: Actor, subscription_id: int) -> WebhookSubscription:
    return _one(subscriptions_of(actor=actor), subscription_id, "webhook subscription")


def outbound_deliveries_of(*, actor: Actor, subscription: WebhookSubscription | None = None,
                           status: str | None = None) -> QuerySet[OutboundDelivery]:
    actor.require(WEBHOOKS_MANAGE)
    deliveries = OutboundDelivery.objects.for_org(actor.organization).select_related("event", "subscription")
    if subscription is not None:
        deliveries = deliveries.filter(subscription=subscription)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def outbound_delivery_get(*, actor: Actor, delivery_id: int) -> OutboundDelivery:
    return _one(outbound_deliveries_of(actor=actor), delivery_id, "outbound delivery")


# Pushes look their source up on every request; a few seconds of caching per process saves a query each.
# Changes made here clear it at once; other processes see them within SOURCE_CACHE_SECONDS.
SOURCE_CACHE_SECONDS = 5.0
_push_sources: dict[tuple[str, str], tuple[float, WebhookSource | None]] = {}


def source_for_push(organization_slug: str, source_slug: str) -> WebhookSource | None:
    key = (organization_slug, source_slug)
    now = time.monotonic()
    cached = _push_sources.get(key)
    if cached and cached[0] > now:
        return cached[1]
    source = (WebhookSource.objects.select_related("organization")
              .filter(organization__slug=organization_slug, organization__is_active=True, slug=source_slug,
                      is_active=True).first())
    if len(_push_sources) > 10_000:
        _push_sources.clear()
    _push_sources[key] = (now + SOURCE_CACHE_SECONDS, source)
    return source


def source_cache_clear() -> None:
    _push_sources.clear()
