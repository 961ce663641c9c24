"""The webhooks app's API endpoints and pages: sources, inbound deliveries, subscriptions, outbound deliveries
(tests/cases.py describes the convention)."""

import itertools
import json
import uuid

from django.utils import timezone

from stocktrace.webhooks.models import (
    InboundDelivery,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEvent,
    WebhookSource,
    WebhookSubscription,
)
from tests.cases import Case, Page

SITES = {"sites": [{"code": "ERP-1", "name": "From the ERP", "address": "Dock 3"}]}


def _source(own, role, target) -> dict:
    source = WebhookSource.objects.create(organization=target.organization, name="ERP", handler="site.upsert",
                                          slug=f"erp-{uuid.uuid4().hex[:8]}", secret="whsec_test")
    return {"source_id": source.pk}


def _inbound(own, role, target) -> dict:
    source = WebhookSource.objects.get(pk=_source(own, role, target)["source_id"])
    delivery = InboundDelivery.objects.create(organization=target.organization, source=source, delivery_id="d-1",
                                              headers={}, body="{}", status="processed")
    return {"delivery_id": delivery.pk}


def _subscription(own, role, target) -> dict:
    subscription = WebhookSubscription.objects.create(organization=target.organization, url="http://127.0.0.1:9/x",
                                                      events=["site.created"], secret="whsec_test")
    return {"subscription_id": subscription.pk}


def _outbound(own, role, target) -> dict:
    subscription = WebhookSubscription.objects.get(pk=_subscription(own, role, target)["subscription_id"])
    event = OutboundEvent.objects.create(organization=target.organization, name="site.created", payload={})
    delivery = OutboundDelivery.objects.create(organization=target.organization, event=event,
                                               subscription=subscription, status="dead")
    return {"delivery_id": delivery.pk}


API_CASES: dict[str, Case] = {
    "GET /webhooks/catalogue": Case(),
    "POST /webhooks/resync/sites": Case(audit_action="webhooks.resync_sites", success=202),
    "GET /webhooks/sources": Case(),
    "POST /webhooks/sources": Case(body=lambda *a: {"name": "ERP", "handler": "site.upsert"},
                                   audit_action="webhook_source.create", success=201),
    "GET /webhooks/sources/{source_id}": Case(params=_source, crosses_tenants=True),
    "PATCH /webhooks/sources/{source_id}": Case(params=_source, body=lambda *a: {"rate_limit_per_minute": 5},
                                                audit_action="webhook_source.update", crosses_tenants=True),
    "POST /webhooks/sources/{source_id}/rotate-secret": Case(
        params=_source, body=lambda *a: {"keep_previous_hours": 2}, audit_action="webhook_source.rotate_secret",
        crosses_tenants=True),
    "POST /webhooks/sources/{source_id}/dry-run": Case(
        params=_source, body=lambda *a: {"payload": {"sites": [{"code": "DRY-1", "name": "Dry"}]}},
        crosses_tenants=True),
    "GET /webhooks/sources/{source_id}/deliveries": Case(params=_source, crosses_tenants=True),
    "GET /webhooks/inbound/{delivery_id}": Case(params=_inbound, crosses_tenants=True),
    "POST /webhooks/inbound/{delivery_id}/replay": Case(params=_inbound, audit_action="inbound_delivery.replay",
                                                        crosses_tenants=True),
    "GET /webhooks/subscriptions": Case(),
    "POST /webhooks/subscriptions": Case(body=lambda *a: {"url": "https://erp.example.test/hook",
                                                          "events": ["site.created"]},
                                         audit_action="webhook_subscription.create", success=201),
    "GET /webhooks/subscriptions/{subscription_id}": Case(params=_subscription, crosses_tenants=True),
    "PATCH /webhooks/subscriptions/{subscription_id}": Case(params=_subscription, body=lambda *a: {"is_active": False},
                                                            audit_action="webhook_subscription.update",
                                                            crosses_tenants=True),
    "POST /webhooks/subscriptions/{subscription_id}/rotate-secret": Case(
        params=_subscription, body=lambda *a: {"keep_previous_hours": 2},
        audit_action="webhook_subscription.rotate_secret", crosses_tenants=True),
    "POST /webhooks/subscriptions/{subscription_id}/ping": Case(params=_subscription,
                                                                audit_action="webhook_subscription.ping",
                                                                crosses_tenants=True, success=202),
    "GET /webhooks/subscriptions/{subscription_id}/deliveries": Case(params=_subscription, crosses_tenants=True),
    "GET /webhooks/outbound/{delivery_id}": Case(params=_outbound, crosses_tenants=True),
    "POST /webhooks/outbound/{delivery_id}/redeliver": Case(
        params=_outbound, audit_action="outbound_delivery.redeliver", crosses_tenants=True),
}

PAGES: dict[str, Page] = {
    "sites_resync": Page("POST", data=lambda *a: {}),
    "webhooks": Page(),
    "webhook_source_create": Page("POST", data=lambda *a: {"name": "ERP", "handler": "site.upsert",
                                                           "rate_limit_per_minute": 100}),
    "webhook_source": Page(kwargs=_source),
    "webhook_source_dry_run": Page("POST", kwargs=_source, data=lambda *a: {"payload": json.dumps(SITES)},
                                   success=200),  # shows what the push would do, on the same page
    "webhook_source_rotate": Page("POST", kwargs=_source, data=lambda *a: {}),
    "webhook_source_active": Page("POST", kwargs=_source, data=lambda *a: {"is_active": "0"}),
    "inbound_delivery": Page(kwargs=_inbound),
    "inbound_replay": Page("POST", kwargs=_inbound, data=lambda *a: {}),
    "webhook_subscription_create": Page("POST", data=lambda *a: {"url": "https://erp.example.test/hooks",
                                                                 "events": ["site.created"]}),
    "webhook_subscription": Page(kwargs=_subscription),
    "webhook_subscription_rotate": Page("POST", kwargs=_subscription, data=lambda *a: {"keep_previous_hours": "1"}),
    "webhook_subscription_ping": Page("POST", kwargs=_subscription, data=lambda *a: {}),
    "webhook_subscription_active": Page("POST", kwargs=_subscription, data=lambda *a: {"is_active": "0"}),
    "outbound_delivery": Page(kwargs=_outbound),
    "outbound_redeliver": Page("POST", kwargs=_outbound, data=lambda *a: {}),
}


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /webhooks/sources": 4,
    "GET /webhooks/sources/{source_id}/deliveries": 5,
    "GET /webhooks/subscriptions": 4,
    "GET /webhooks/subscriptions/{subscription_id}/deliveries": 5,
    "webhooks": 6,
    "webhook_source": 6,
    "inbound_delivery": 5,
    "webhook_subscription": 6,
    "outbound_delivery": 6,
}

_serial = itertools.count(1)


def make_rows(tenant, count: int) -> None:
    """More sources and subscriptions; more deliveries for each source and subscription there is; more attempts
    for each outbound delivery there is."""
    organization = tenant.organization
    for source in WebhookSource.objects.filter(organization=organization):
        InboundDelivery.objects.bulk_create([
            InboundDelivery(organization=organization, source=source, delivery_id=f"extra-{next(_serial)}",
                            headers={}, body="{}", status="processed") for _ in range(count)])
    for subscription in WebhookSubscription.objects.filter(organization=organization):
        for _ in range(count):
            event = OutboundEvent.objects.create(organization=organization, name="site.created", payload={})
            OutboundDelivery.objects.create(organization=organization, event=event, subscription=subscription,
                                            status="dead")
    for delivery in OutboundDelivery.objects.filter(organization=organization):
        OutboundAttempt.objects.bulk_create([
            OutboundAttempt(delivery=delivery, attempted_at=timezone.now(), status_code=503, response_ms=1.5,
                            error="HTTP 503") for _ in range(count)])
    for _ in range(count):
        _source(tenant, None, tenant)
        _subscription(tenant, None, tenant)
