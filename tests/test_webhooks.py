import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from stocktrace.accounts.roles import Role
from stocktrace.audit.models import AuditEvent
from stocktrace.inventory.models import Site
from stocktrace.inventory.services import site_create
from stocktrace.webhooks import signing
from stocktrace.webhooks.models import InboundDelivery, OutboundAttempt, OutboundDelivery, OutboundEvent
from stocktrace.webhooks.services import inbound_dry_run, inbound_replay, source_create, subscription_create
from tests.conftest import database_state
from tests.test_jobs import Clock, run_worker


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch):
    import stocktrace.jobs.worker as worker_module

    monkeypatch.setattr(worker_module, "close_old_connections", lambda: None)


@pytest.fixture
def source(world):
    return source_create(actor=world.alpha.actor(), name="ERP", handler="site.upsert", rate_limit_per_minute=3)


def push(source, payload, *, delivery="d-1", secret=None, timestamp=None, raw: bytes | None = None, **extra):
    body = raw if raw is not None else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {signing.DELIVERY_HEADER: delivery, signing.TIMESTAMP_HEADER: str(timestamp),
               signing.SIGNATURE_HEADER: signing.sign(secret or source.secret, timestamp, body), **extra}
    return Client().post(f"/hooks/{source.organization.slug}/{source.slug}", data=body,
                         content_type="application/json", headers=headers)


SITES = {"sites": [{"code": "ERP-1", "name": "From the ERP", "address": "Dock 3"}]}


def test_a_signed_push_is_stored_answered_202_and_processed_by_a_job(source, world):
    response = push(source, SITES)
    assert response.status_code == 202
    delivery = InboundDelivery.objects.get()
    assert (delivery.status, json.loads(delivery.body), delivery.delivery_id) == ("received", SITES, "d-1")
    assert signing.SIGNATURE_HEADER.lower() in delivery.headers
    assert response.json() == {"delivery": delivery.pk, "status": "received", "duplicate": False}
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.result) == ("processed", {"created": ["ERP-1"], "updated": [], "unchanged": []})
    site = Site.objects.get(code="ERP-1")
    assert (site.organization, site.address) == (world.alpha.organization, "Dock 3")
    assert AuditEvent.objects.get(action="site.create", object_id=str(site.pk)).device == "webhook:site.upsert"


def test_a_push_queues_the_same_job_row_as_enqueue_would(source):
    # On PostgreSQL the delivery and its job are written by one hand-written statement: it must keep writing
    # what django-tasks-db writes (a change of its schema or defaults shows up here).
    from stocktrace.webhooks.tasks import process_inbound_delivery

    push(source, SITES)
    delivery = InboundDelivery.objects.get()
    pushed = DBTaskResult.objects.get()
    enqueued = DBTaskResult.objects.get(pk=process_inbound_delivery.enqueue(
        delivery_id=delivery.pk, organization_id=source.organization_id).id)
    skip = {"id", "enqueued_at"}
    fields = [f.attname for f in DBTaskResult._meta.concrete_fields if f.attname not in skip]
    assert {f: getattr(pushed, f) for f in fields} == {f: getattr(enqueued, f) for f in fields}
    assert pushed.args_kwargs == {"args": [], "kwargs": {"delivery_id": delivery.pk,
                                                         "organization_id": source.organization_id}}
    assert abs(pushed.enqueued_at - delivery.received_at).total_seconds() < 5


def test_a_repeated_delivery_id_is_not_processed_twice(source):
    assert push(source, SITES).status_code == 202
    again = push(source, {"sites": [{"code": "OTHER", "name": "x"}]})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert InboundDelivery.objects.count() == 1 and DBTaskResult.objects.count() == 1


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ({"secret": "whsec_wrong"}, 401),
        ({"timestamp": -310}, 401),
        ({"timestamp": +310}, 401),
        ({"delivery": ""}, 422),
        ({"raw": b"not json"}, 422),
        ({"raw": b"\xff\xfe"}, 422),
    ],
)
def test_refused_pushes_store_nothing(source, tamper, status):
    if "timestamp" in tamper:
        tamper = {"timestamp": int(time.time()) + tamper["timestamp"]}
    before = database_state()
    response = push(source, SITES, **tamper)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert database_state() == before


def test_a_body_changed_in_transit_fails_the_signature(source):
    timestamp = int(time.time())
    body = json.dumps(SITES).encode()
    headers = {signing.DELIVERY_HEADER: "d-9", signing.TIMESTAMP_HEADER: str(timestamp),
               signing.SIGNATURE_HEADER: signing.sign(source.secret, timestamp, body)}
    response = Client().post(f"/hooks/alpha/{source.slug}", data=body.replace(b"Dock", b"Dick"),
                             content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert not InboundDelivery.objects.exists()


def test_unknown_or_inactive_sources_and_other_tenants_are_404(source, world, django_capture_on_commit_callbacks):
    assert Client().post("/hooks/alpha/nope", data="{}", content_type="application/json").status_code == 404
    assert push(source, SITES).status_code == 202
    from stocktrace.webhooks.services import source_update

    with django_capture_on_commit_callbacks(execute=True):
        source_update(actor=world.alpha.actor(), source=source, is_active=False)
    assert push(source, SITES, delivery="d-2").status_code == 404
    response = Client().post(f"/hooks/bravo/{source.slug}", data="{}", content_type="application/json")
    assert response.status_code == 404


def test_rate_limit_per_source_answers_429_with_retry_after(source, monkeypatch):
    from types import SimpleNamespace

    from stocktrace.core import ratelimit

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6_000_015.0))  # 45 s left in the window
    for n in range(3):
        assert push(source, SITES, delivery=f"d-{n}").status_code == 202
    response = push(source, SITES, delivery="d-3")
    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert response.json()["retry_after"] == 45
    assert InboundDelivery.objects.count() == 3


def test_oversized_pushes_are_413(source, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    assert push(source, {"sites": [{"code": "X", "name": "y" * 500}]}).status_code == 413
    assert not InboundDelivery.objects.exists()


def test_the_payload_is_kept_when_processing_fails_and_can_be_replayed(source, world):
    push(source, {"sites": [{"code": "", "name": "no code"}]})
    run_worker()
    delivery = InboundDelivery.objects.get()
    assert delivery.status == "dead" and "sites[0]" in delivery.error
    assert json.loads(delivery.body) == {"sites": [{"code": "", "name": "no code"}]}
    delivery.body = json.dumps(SITES)  # say an admin fixed the data upstream and we replay a corrected copy
    delivery.save()
    inbound_replay(actor=world.alpha.actor(), delivery=delivery)
    run_worker()
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.attempts == 2


def test_unexpected_errors_are_retried_and_end_dead(source, world, monkeypatch):
    from django.utils import timezone

    from stocktrace.webhooks import handlers

    def explode(**kwargs):
        raise ConnectionError("database of the ERP is down")

    monkeypatch.setitem(handlers.HANDLERS, "site.upsert", explode)
    clock = Clock(monkeypatch, timezone.now())
    push(source, SITES)
    for _ in range(5):
        run_worker()
        clock.advance(hours=1)
    delivery = InboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("dead", 5)
    assert "ConnectionError" in delivery.error


def test_dry_run_shows_the_effect_and_changes_nothing(source, world):
    before = database_state()
    outcome = inbound_dry_run(actor=world.alpha.actor(), source=source, payload=SITES)
    assert outcome == {"ok": True, "result": {"created": ["ERP-1"], "updated": [], "unchanged": []}}
    assert inbound_dry_run(actor=world.alpha.actor(), source=source, payload={"x": 1})["ok"] is False
    assert database_state() == before


class Receiver:
    """A local HTTP endpoint that answers the given statuses in turn and records what it got."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(statuses):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_outbound_delivery_is_retried_until_the_receiver_accepts(world, receiver, monkeypatch):
    from django.utils import timezone

    target = receiver([500, 503])
    subscription = subscription_create(actor=world.alpha.actor(), url=target.url, events=["site.created"])
    site = site_create(actor=world.alpha.actor(), code="NEW-9", name="Nine")
    clock = Clock(monkeypatch, timezone.now())
    for _ in range(3):
        run_worker()
        clock.advance(hours=1)
    delivery = OutboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert [a.status_code for a in OutboundAttempt.objects.order_by("attempted_at")] == [500, 503, 200]
    assert all(a.response_ms > 0 for a in OutboundAttempt.objects.all())
    headers, body = target.requests[-1]
    signing.verify(subscription.secret, timestamp=headers[signing.TIMESTAMP_HEADER],
                   signature=headers[signing.SIGNATURE_HEADER], body=body)
    sent = json.loads(body)
    assert (sent["event"], sent["data"]["site"]["id"], headers[signing.EVENT_HEADER]) == (
        "site.created", site.pk, "site.created")


@pytest.mark.django_db(transaction=True)
def test_no_event_leaves_when_the_change_is_rolled_back():
    from tests.factories import make_world

    world = make_world()
    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["site.created"])
    with pytest.raises(RuntimeError), transaction.atomic():
        site_create(actor=world.alpha.actor(), code="GONE", name="Rolled back")
        raise RuntimeError
    assert not OutboundEvent.objects.exists() and not DBTaskResult.objects.exists()


def test_only_subscribed_active_subscriptions_of_the_tenant_get_events(world):
    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/a", events=["member.invited"])
    subscription_create(actor=world.bravo.actor(), url="http://127.0.0.1:9/b", events=["site.created"])
    site_create(actor=world.alpha.actor(), code="S-1", name="One")
    assert not OutboundEvent.objects.exists()


def test_private_addresses_can_be_refused(world, receiver, settings):
    settings.STOCKTRACE_OUTBOUND_ALLOW_PRIVATE = False
    target = receiver([])
    subscription_create(actor=world.alpha.actor(), url=target.url, events=["site.created"])
    site_create(actor=world.alpha.actor(), code="S-2", name="Two")
    run_worker()
    attempt = OutboundAttempt.objects.get()
    assert attempt.status_code is None and "private address" in attempt.error
    assert target.requests == []


def test_dead_jobs_announce_themselves(world, receiver):
    from tests import job_fixtures

    target = receiver([])
    subscription_create(actor=world.alpha.actor(), url=target.url, events=["job.dead"])
    job_fixtures.fatal.enqueue(organization_id=world.alpha.organization.pk)
    run_worker()
    run_worker()
    assert json.loads(target.requests[0][1])["data"]["dead_letter"]["task"] == "tests.job_fixtures.fatal"


def test_admin_only(world, client_as):
    for role in (Role.SUPERVISOR, Role.COUNTER):
        assert client_as(world.alpha, role).get("/api/v1/webhooks/sources").status_code == 403


def test_resync_announces_every_site_and_reports_progress(world, client_as):
    from stocktrace.webhooks.tasks import deliver_outbound

    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["site.updated"])
    client = client_as(world.alpha, Role.ADMIN)
    started = client.post("/api/v1/webhooks/resync/sites")
    assert started.status_code == 202
    progress_url = started.json()["progress_url"]
    assert client.get(progress_url).json()["status"] == "READY"
    run_worker(max_tasks=1)  # the resync job only, not the deliveries it queues
    progress = client.get(progress_url).json()
    assert (progress["status"], progress["done"], progress["total"]) == ("SUCCESSFUL", 2, 2)
    assert progress["return_value"] == {"sites": 2}
    assert OutboundEvent.objects.filter(name="site.updated").count() == 2
    assert DBTaskResult.objects.filter(task_path=deliver_outbound.module_path, status="READY").count() == 2
    assert client_as(world.bravo, Role.ADMIN).get(progress_url).status_code == 404


def test_a_retried_delivery_is_answered_even_when_the_rate_is_spent(source, monkeypatch):
    from types import SimpleNamespace

    from stocktrace.core import ratelimit

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6_000_015.0))
    for n in range(3):
        push(source, SITES, delivery=f"d-{n}")
    again = push(source, SITES, delivery="d-0")
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_dry_run_reports_handler_errors_instead_of_failing(source, world, monkeypatch):
    from stocktrace.webhooks import handlers

    def broken(**kwargs):
        raise KeyError("sku")

    monkeypatch.setitem(handlers.HANDLERS, "site.upsert", broken)
    assert inbound_dry_run(actor=world.alpha.actor(), source=source, payload={}) == {
        "ok": False, "error": "KeyError: 'sku'"}
    source.handler = "gone"
    assert "no handler named 'gone'" in inbound_dry_run(actor=world.alpha.actor(), source=source, payload={})["error"]


def test_duplicate_source_slugs_are_a_conflict(source, world):
    from stocktrace.core.errors import Conflict

    with pytest.raises(Conflict):
        source_create(actor=world.alpha.actor(), name="ERP", handler="site.upsert")


def test_alert_events_carry_decimals_as_strings(world):
    from stocktrace.inventory.services.catalog import item_create, item_update, location_create
    from stocktrace.inventory.services.ledger import stock_issue, stock_receive

    actor = world.alpha.actor()
    subscription_create(actor=actor, url="http://127.0.0.1:9/x", events=["alert.raised"])
    bin_ = location_create(actor=actor, site=world.alpha.sites[0], code="B1")
    item = item_update(actor=actor, item=item_create(actor=actor, sku="A", name="A"), min_level="5")
    stock_receive(actor=actor, item=item, location=bin_, quantity_received="6")
    stock_issue(actor=actor, item=item, location=bin_, quantity_issued="2.5")
    event = OutboundEvent.objects.get(name="alert.raised")
    assert (event.payload["alert"]["quantity"], event.payload["alert"]["threshold"]) == ("3.500", "5.000")


def test_item_master_and_stock_receipts_arrive_by_webhook(world):
    from stocktrace.inventory.models import Item, OnHand
    from stocktrace.inventory.selectors import ledger_drift
    from stocktrace.inventory.services.catalog import location_create

    actor = world.alpha.actor()
    location_create(actor=actor, site=world.alpha.sites[0], code="DOCK", barcode="DOCK-1")
    items = source_create(actor=actor, name="ERP items", handler="item.upsert")
    receipts = source_create(actor=actor, name="WMS receipts", handler="stock.receipt")
    master = {"items": [{"sku": "P-1", "name": "Pallet wrap", "unit_cost": 12.5, "min_level": "5",
                         "barcodes": ["4006381333931"]}]}
    assert push(items, master, delivery="i-1").status_code == 202
    run_worker()
    item = Item.objects.get(sku="P-1")
    assert (item.unit_cost, item.min_level, list(item.barcodes.values_list("code", flat=True))) == (
        Decimal("12.5000"), Decimal("5.000"), ["4006381333931"])
    push(items, {"items": [{"sku": "P-1", "unit_cost": "13", "barcodes": ["96385074"]}]}, delivery="i-2")
    run_worker()
    item.refresh_from_db()
    assert (item.name, item.unit_cost, item.barcodes.count()) == ("Pallet wrap", Decimal("13.0000"), 2)

    good = {"receipts": [{"location": "DOCK-1", "barcode": "96385074", "quantity": 7.125, "reference": "ASN-9"}]}
    bad = {"receipts": [{"location": "DOCK-1", "sku": "P-1", "quantity": "1"},
                        {"location": "NOWHERE", "sku": "P-1", "quantity": "1"}]}
    push(receipts, good, delivery="r-1")
    push(receipts, bad, delivery="r-2")
    run_worker()
    assert OnHand.objects.get(item=item).quantity == Decimal("7.125")  # the bad push changed nothing at all
    rejected = InboundDelivery.objects.get(delivery_id="r-2")
    assert rejected.status == "dead" and "receipts[1]" in rejected.error
    assert ledger_drift() == []
