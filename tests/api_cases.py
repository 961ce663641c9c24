"""How to call every API endpoint, for the generated permission-matrix, tenant and audit tests.

Each endpoint of the API must have a case here: `test_every_endpoint_has_a_case` fails otherwise, so a
new endpoint cannot skip the generated tests. Builders get the tenant the caller belongs to, the
caller's role, and the tenant whose objects the ids should point at (the caller's own, or another's).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from stocktrace.accounts.models import ApiToken
from stocktrace.imports.models import ImportRun
from stocktrace.inventory.models import Item, ItemBarcode, Location, StockAlert
from stocktrace.jobs.models import DeadLetter
from stocktrace.jobs.tasks import noop
from stocktrace.tenancy.roles import Role
from stocktrace.webhooks.models import (
    InboundDelivery,
    OutboundDelivery,
    OutboundEvent,
    WebhookSource,
    WebhookSubscription,
)
from tests.factories import PASSWORD, Tenant, stocked


def target_barcode(target: Tenant) -> str:
    return ItemBarcode.objects.get(item=stocked(target)[0]).code


@dataclass(frozen=True)
class Case:
    params: Callable[[Tenant, str, Tenant], dict] = lambda own, role, target: {}
    body: Callable[[Tenant, str, Tenant], dict] | None = None
    audit_action: str | None = None
    # True when the call can name another tenant's objects (in the path or the body): it must answer 404.
    crosses_tenants: bool = False
    success: tuple[int, ...] = (200, 201, 202, 204)


def _token_of(own: Tenant, role: str, target: Tenant) -> dict:
    membership = own.members[role] if target is own else target.members[Role.ADMIN]
    token = ApiToken.objects.create(membership=membership, name="case", prefix=f"case{membership.pk}",
                                    secret_hash="0" * 64)
    return {"token_id": token.pk}


def _dead_letter(own, role, target) -> dict:
    now = timezone.now()
    letter = DeadLetter.objects.create(
        organization=target.organization, task_id=uuid.uuid4(), task_path="stocktrace.jobs.tasks.noop",
        queue_name="default", args_kwargs={"args": [], "kwargs": {"organization_id": target.organization.pk}},
        attempts=1, first_failed_at=now, last_failed_at=now, last_error="Boom")
    return {"dead_letter_id": letter.pk}


def _replay_matching(own, role, target) -> dict:
    _dead_letter(own, role, own)
    return {"task_path": "stocktrace.jobs.tasks.noop"}


def _job(own, role, target) -> dict:
    return {"task_id": noop.enqueue(organization_id=target.organization.pk).id}


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


def _location(own, role, target) -> dict:
    return {"location_id": stocked(target)[1].pk}


def _item(own, role, target) -> dict:
    return {"item_id": stocked(target)[0].pk}


def _posting(own, role, target) -> dict:
    item, location = stocked(target)
    return {"item_id": item.pk, "location_id": location.pk, "quantity": "1.5", "reference": "PO-1"}


def _transfer(own, role, target) -> dict:
    item, location = stocked(target)
    other = Location.objects.filter(site=location.site, code="A-02").first()
    if other is None:
        other = Location.objects.create(organization=target.organization, site=location.site, code="A-02",
                                        barcode=f"{target.name}-A-02", path="/")
        other.path = f"/{other.pk}/"
        other.save()
    return {"item_id": item.pk, "from_location_id": location.pk, "to_location_id": other.pk, "quantity": "2"}


def _empty_location(own, role, target) -> dict:
    location = stocked(target)[1]
    spare = Location.objects.create(organization=target.organization, site=location.site, code="SPARE",
                                    barcode=f"{target.name}-SPARE", path="/")
    spare.path = f"/{spare.pk}/"
    spare.save()
    return {"location_id": spare.pk}


def _alert(own, role, target) -> dict:
    item, location = stocked(target)
    alert = StockAlert.objects.create(organization=target.organization, kind="low_stock", severity="medium",
                                      item=item, site=location.site, message="low")
    return {"alert_id": alert.pk}


def _member(own, role, target):
    return {"member_id": target.members[Role.VIEWER].pk}


def _site(own, role, target):
    return {"site_id": target.sites[0].pk}



def _import_run(own, role, target, *, status: str = "invalid") -> dict:
    """A finished import of the target tenant (with its file kept, so a valid one can be applied)."""
    from stocktrace.imports.services import stored_path

    run = ImportRun.objects.create(organization=target.organization, kind="items", format="csv",
                                   filename="items.csv", stored_name=f"{uuid.uuid4().hex}.csv", status=status,
                                   rows_total=1, rows_ok=0 if status == "invalid" else 1,
                                   rows_bad=1 if status == "invalid" else 0,
                                   errors=[{"line": 2, "column": "sku", "reason": "required"}]
                                   if status == "invalid" else [])
    path = stored_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("sku,name\nIMP-1,Imported\n")
    return {"run_id": run.pk}


def _valid_import_run(own, role, target) -> dict:
    return _import_run(own, role, target, status="valid")

CASES: dict[str, Case] = {
    "POST /auth/login": Case(body=lambda own, role, target: {"email": own.user(role).email, "password": PASSWORD}),
    "POST /auth/logout": Case(),
    "GET /me": Case(),
    "GET /organizations": Case(),
    "GET /organization": Case(),
    "PATCH /organization": Case(body=lambda *a: {"name": "Renamed Org"}, audit_action="organization.update"),
    "GET /members": Case(),
    "POST /members": Case(
        body=lambda own, role, target: {"email": "new.person@example.test", "role": "counter",
                                        "site_ids": [target.sites[1].pk]},
        audit_action="membership.invite", crosses_tenants=True,
    ),
    "GET /members/{member_id}": Case(params=_member, crosses_tenants=True),
    "PATCH /members/{member_id}": Case(params=_member, body=lambda *a: {"role": "biller"},
                                       audit_action="membership.update", crosses_tenants=True),
    "GET /members/{member_id}/sites": Case(params=_member, crosses_tenants=True),
    "PUT /members/{member_id}/sites": Case(
        params=lambda own, role, target: {"member_id": own.members[Role.VIEWER].pk},
        body=lambda own, role, target: {"site_ids": [target.sites[1].pk]},
        audit_action="membership.sites", crosses_tenants=True,
    ),
    "POST /members/{member_id}/password-link": Case(params=_member, audit_action="membership.password_link",
                                                    crosses_tenants=True),
    "GET /sites": Case(),
    "POST /sites": Case(body=lambda *a: {"code": "NEW-1", "name": "New site"}, audit_action="site.create"),
    "GET /sites/{site_id}": Case(params=_site, crosses_tenants=True),
    "PATCH /sites/{site_id}": Case(params=_site, body=lambda *a: {"name": "Renamed site"},
                                   audit_action="site.update", crosses_tenants=True),
    "POST /sites/{site_id}/archive": Case(params=_site, audit_action="site.archive", crosses_tenants=True),
    "GET /tokens": Case(),
    "POST /tokens": Case(body=lambda *a: {"name": "scanner 7"}, audit_action="token.create"),
    "DELETE /tokens/{token_id}": Case(params=_token_of, audit_action="token.revoke", crosses_tenants=True),
    "GET /audit": Case(),
    "GET /jobs/stats": Case(),
    "GET /jobs/dead-letters": Case(),
    "POST /jobs/dead-letters/replay": Case(body=_replay_matching, audit_action="dead_letter.replay"),
    "GET /jobs/dead-letters/{dead_letter_id}": Case(params=_dead_letter, crosses_tenants=True),
    "POST /jobs/dead-letters/{dead_letter_id}/replay": Case(params=_dead_letter, audit_action="dead_letter.replay",
                                                            crosses_tenants=True),
    "POST /jobs/dead-letters/{dead_letter_id}/discard": Case(params=_dead_letter, audit_action="dead_letter.discard",
                                                             crosses_tenants=True),
    "GET /jobs/{task_id}/progress": Case(params=_job, crosses_tenants=True),
    "GET /locations": Case(),
    "POST /locations": Case(body=lambda own, role, target: {"site_id": target.sites[0].pk, "code": "B-07"},
                            audit_action="location.create", crosses_tenants=True),
    "GET /locations/{location_id}": Case(params=_location, crosses_tenants=True),
    "PATCH /locations/{location_id}": Case(params=_location, body=lambda *a: {"name": "Bin A1"},
                                           audit_action="location.update", crosses_tenants=True),
    "POST /locations/{location_id}/move": Case(params=_location, body=lambda *a: {"parent_id": None},
                                               audit_action="location.move", crosses_tenants=True),
    "POST /locations/{location_id}/archive": Case(params=_empty_location, audit_action="location.archive",
                                                  crosses_tenants=True),
    "GET /items": Case(),
    "POST /items": Case(body=lambda *a: {"sku": "NEW-1", "name": "New", "barcodes": ["12345670"]},
                        audit_action="item.create"),
    "GET /items/{item_id}": Case(params=_item, crosses_tenants=True),
    "PATCH /items/{item_id}": Case(params=_item, body=lambda *a: {"min_level": "5"}, audit_action="item.update",
                                   crosses_tenants=True),
    "POST /items/{item_id}/archive": Case(
        params=lambda own, role, target: {"item_id": Item.objects.create(
            organization=target.organization, sku=f"EMPTY-{uuid.uuid4().hex[:6]}", name="Empty").pk},
        audit_action="item.archive", crosses_tenants=True),
    "POST /items/{item_id}/barcodes": Case(params=_item, body=lambda *a: {"code": "INT-0001"},
                                           audit_action="item.barcode_add", crosses_tenants=True),
    "DELETE /items/{item_id}/barcodes/{code}": Case(
        params=lambda own, role, target: {**_item(own, role, target), "code": target_barcode(target)},
        audit_action="item.barcode_remove", crosses_tenants=True),
    "GET /items/{item_id}/movements": Case(params=_item, crosses_tenants=True),
    "GET /lookup/{code}": Case(params=lambda own, role, target: {"code": target_barcode(target)},
                               crosses_tenants=True),
    "GET /stock": Case(),
    "POST /stock/receipts": Case(body=_posting, audit_action="stock.receipt", crosses_tenants=True),
    "POST /stock/issues": Case(body=_posting, audit_action="stock.issue", crosses_tenants=True),
    "POST /stock/adjustments": Case(
        body=lambda own, role, target: {**{k: v for k, v in _posting(own, role, target).items() if k != "quantity"},
                                        "delta": "-1", "reason": "damaged"},
        audit_action="stock.adjustment", crosses_tenants=True),
    "POST /stock/transfers": Case(body=_transfer, audit_action="stock.transfer", crosses_tenants=True),
    "GET /alerts": Case(),
    "POST /alerts/recheck": Case(audit_action="alerts.recheck"),
    "POST /alerts/{alert_id}/acknowledge": Case(params=_alert, audit_action="alert.acknowledge",
                                                crosses_tenants=True),
    "POST /alerts/{alert_id}/resolve": Case(params=_alert, audit_action="alert.resolve", crosses_tenants=True),
    "GET /webhooks/catalogue": Case(),
    "POST /webhooks/resync/sites": Case(audit_action="webhooks.resync_sites"),
    "GET /webhooks/sources": Case(),
    "POST /webhooks/sources": Case(body=lambda *a: {"name": "ERP", "handler": "site.upsert"},
                                   audit_action="webhook_source.create"),
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
                                         audit_action="webhook_subscription.create"),
    "GET /webhooks/subscriptions/{subscription_id}": Case(params=_subscription, crosses_tenants=True),
    "PATCH /webhooks/subscriptions/{subscription_id}": Case(params=_subscription, body=lambda *a: {"is_active": False},
                                                            audit_action="webhook_subscription.update",
                                                            crosses_tenants=True),
    "POST /webhooks/subscriptions/{subscription_id}/rotate-secret": Case(
        params=_subscription, body=lambda *a: {"keep_previous_hours": 2},
        audit_action="webhook_subscription.rotate_secret", crosses_tenants=True),
    "POST /webhooks/subscriptions/{subscription_id}/ping": Case(params=_subscription,
                                                                audit_action="webhook_subscription.ping",
                                                                crosses_tenants=True),
    "GET /webhooks/subscriptions/{subscription_id}/deliveries": Case(params=_subscription, crosses_tenants=True),
    "GET /webhooks/outbound/{delivery_id}": Case(params=_outbound, crosses_tenants=True),
    "POST /webhooks/outbound/{delivery_id}/redeliver": Case(
        params=_outbound, audit_action="outbound_delivery.redeliver", crosses_tenants=True),
    "POST /imports": Case(body=lambda *a: {"kind": "items", "filename": "items.csv",
                                           "content": "sku,name\nIMP-1,Imported\n"},
                          audit_action="import.create"),
    "GET /imports": Case(),
    "GET /imports/{run_id}": Case(params=_import_run, crosses_tenants=True),
    "POST /imports/{run_id}/apply": Case(params=_valid_import_run, audit_action="import.apply", crosses_tenants=True),
    "GET /exports/{kind}": Case(params=lambda *a: {"kind": "items"}),
}
