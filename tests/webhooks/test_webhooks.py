import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from stocktrace.accounts.services import site_create
from stocktrace.audit.models import AuditEvent
from stocktrace.jobs.models import DeadLetter
from stocktrace.tenancy.models import Site
from stocktrace.tenancy.roles import Role
from stocktrace.webhooks import signing
from stocktrace.webhooks.models import InboundDelivery, OutboundAttempt, OutboundDelivery, OutboundEvent
from stocktrace.webhooks.services import inbound_dry_run, inbound_replay, source_create, subscription_create
from tests.conftest import database_state
from tests.job_fixtures import Clock, run_worker
from tests.processes import (
    free_port,
    kill_group,
    post,
    serve,
    skip_without_database_file,
    stream_until_killed,
    wait_until,
)
from tests.server_app import through_the_server_application

pytestmark = pytest.mark.usefixtures("worker_keeps_the_test_transaction")


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

    from stocktrace.events import inbound as handlers

    def explode(**kwargs):
        raise ConnectionError("database of the ERP is down")

    monkeypatch.setitem(handlers.HANDLERS, "site.upsert", explode)
    clock = Clock(monkeypatch, timezone.now())
    push(source, SITES)
    for _ in range(5):
        run_worker()
        clock.advance(hours=1)
    delivery = InboundDelivery.objects.get()
    # The job's own last error, not overwritten when the job is dead-lettered (on_dead leaves it).
    assert (delivery.status, delivery.attempts, delivery.error) == (
        "dead", 5, "ConnectionError: database of the ERP is down")
    assert DeadLetter.objects.count() == 1


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


def test_while_a_subscriptions_rotation_overlaps_deliveries_are_signed_with_both_secrets(world, receiver,
                                                                                        monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from stocktrace.webhooks.services import subscription_rotate_secret

    clock = Clock(monkeypatch, timezone.now())
    target = receiver([])
    subscription = subscription_create(actor=world.alpha.actor(), url=target.url, events=["site.created"])
    old = subscription.secret
    rotated = subscription_rotate_secret(actor=world.alpha.actor(), subscription=subscription, keep_previous_hours=3)
    assert (rotated.previous_secret, rotated.previous_secret_expires_at) == (old, clock.now + timedelta(hours=3))

    def delivered_signatures(code: str) -> list[str]:
        site_create(actor=world.alpha.actor(), code=code, name=code)
        run_worker()
        headers, body = target.requests[-1]
        for secret in signing_secrets:  # a receiver holding either secret accepts the delivery
            signing.verify(secret, timestamp=headers[signing.TIMESTAMP_HEADER],
                           signature=headers[signing.SIGNATURE_HEADER], body=body)
        return headers[signing.SIGNATURE_HEADER].split(",")

    signing_secrets = [old, rotated.secret]
    assert len(delivered_signatures("OVERLAP")) == 2
    clock.advance(hours=3)
    signing_secrets = [rotated.secret]
    assert len(delivered_signatures("AFTER")) == 1
    headers, body = target.requests[-1]
    with pytest.raises(signing.SignatureError):
        signing.verify(old, timestamp=headers[signing.TIMESTAMP_HEADER],
                       signature=headers[signing.SIGNATURE_HEADER], body=body)
    at_once = subscription_rotate_secret(actor=world.alpha.actor(), subscription=rotated, keep_previous_hours=0)
    signing_secrets = [at_once.secret]
    assert len(delivered_signatures("AT-ONCE")) == 1
    assert list(AuditEvent.objects.filter(action="webhook_subscription.rotate_secret")
                .values_list("after__keep_previous_hours", flat=True).order_by("pk")) == [3, 0]


def test_the_documented_receiver_accepts_a_delivery_signed_during_a_rotation(world, receiver, monkeypatch):
    # The Python receiver in docs/webhooks.md, as an integrator would copy it, with the old or the new secret.
    from pathlib import Path

    from stocktrace.webhooks.services import subscription_rotate_secret

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    example = text.split("### Verify what you receive", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    target = receiver([])
    subscription = subscription_create(actor=world.alpha.actor(), url=target.url, events=["site.created"])
    old = subscription.secret
    new = subscription_rotate_secret(actor=world.alpha.actor(), subscription=subscription,
                                     keep_previous_hours=1).secret
    site_create(actor=world.alpha.actor(), code="DOCS-1", name="Docs")
    run_worker()
    headers, body = target.requests[-1]

    def documented_verify(secret: str, received: bytes = body) -> bool:
        monkeypatch.setenv("STOCKTRACE_WEBHOOK_SECRET", secret)
        namespace = {"__name__": "receiver"}
        exec(compile(example, "docs/webhooks.md", "exec"), namespace)  # noqa: S102  (our own documentation)
        return namespace["verify"](headers, received)

    assert len(headers[signing.SIGNATURE_HEADER].split(",")) == 2
    assert documented_verify(old) and documented_verify(new)
    assert not documented_verify("whsec_someone_else")
    assert not documented_verify(new, body.replace(b"DOCS-1", b"DOCS-2"))


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
    from stocktrace.events import inbound as handlers

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


def _received_by_webhook(world):
    """A stock.receipt source and one processed push of 5 onto DOCK-1; (source, delivery, item)."""
    from stocktrace.inventory.services.catalog import item_create, location_create

    actor = world.alpha.actor()
    location_create(actor=actor, site=world.alpha.sites[0], code="DOCK", barcode="DOCK-1")
    item = item_create(actor=actor, sku="P-1", name="Pallet wrap")
    receipts = source_create(actor=actor, name="WMS receipts", handler="stock.receipt")
    push(receipts, {"receipts": [{"location": "DOCK-1", "sku": "P-1", "quantity": "5"}]}, delivery="r-1")
    run_worker()
    delivery = InboundDelivery.objects.get(delivery_id="r-1")
    assert delivery.status == "processed"
    return receipts, delivery, item


def test_a_processed_stock_receipt_cannot_be_replayed_so_it_is_never_posted_twice(world, client_as):
    from stocktrace.core.errors import Conflict
    from stocktrace.inventory.models import OnHand

    _, delivery, item = _received_by_webhook(world)
    assert delivery.replayable is False
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    with pytest.raises(Conflict, match="not repeatable"):
        inbound_replay(actor=world.alpha.actor(), delivery=delivery)
    response = client.post(f"/api/v1/webhooks/inbound/{delivery.pk}/replay")
    assert response.status_code == 409 and "not repeatable" in response.json()["detail"]
    assert client.get(f"/api/v1/webhooks/inbound/{delivery.pk}").json()["replayable"] is False
    page = client.get(f"/webhooks/inbound/{delivery.pk}/")
    assert f"/webhooks/inbound/{delivery.pk}/replay/" not in page.content.decode()  # no button to press
    assert database_state() == before
    run_worker()
    assert OnHand.objects.get(item=item).quantity == Decimal("5.000")


def test_a_second_job_for_a_processed_delivery_changes_nothing(world):
    # As when the delivery page and the dead letters both queue it: the second job finds it processed.
    from stocktrace.inventory.models import OnHand, StockMovement
    from stocktrace.webhooks.tasks import process_inbound_delivery

    _, delivery, item = _received_by_webhook(world)
    process_inbound_delivery.enqueue(delivery_id=delivery.pk, organization_id=delivery.organization_id)
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("processed", 1)
    assert OnHand.objects.get(item=item).quantity == Decimal("5.000") and StockMovement.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_jobs_racing_on_one_delivery_post_it_once(monkeypatch):
    # A replay from the delivery page and one from the dead letters, run by two workers at the same moment.
    from django.db import connection

    from stocktrace.events import inbound as handlers
    from stocktrace.inventory.models import OnHand, StockMovement
    from stocktrace.webhooks.services import inbound_process
    from tests.factories import make_world

    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the race needs PostgreSQL's row locks")
    world = make_world()
    receipts, delivery, item = _received_by_webhook(world)
    InboundDelivery.objects.filter(pk=delivery.pk).update(status="failed")  # as if its next attempt failed
    entered, release, second_pid, outcomes = threading.Event(), threading.Event(), [], []
    real = handlers.HANDLERS["stock.receipt"]

    def held_open(**kwargs):
        entered.set()
        assert release.wait(10)
        return real(**kwargs)

    monkeypatch.setitem(handlers.HANDLERS, "stock.receipt", held_open)

    def process(first: bool):
        try:
            if not first:
                second_pid.append(connection.cursor().connection.info.backend_pid)
            outcomes.append(inbound_process(delivery_id=delivery.pk, organization_id=delivery.organization_id,
                                            final_attempt=False))
        finally:
            connection.close()

    first = threading.Thread(target=process, args=(True,))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=process, args=(False,))
    second.start()
    with connection.cursor() as cursor:  # the second job waits on a lock while the first is inside its handler
        wait_until(lambda: second_pid and cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", second_pid).fetchone(),
            timeout=10)
    release.set()
    first.join()
    second.join()
    assert len(outcomes) == 2
    assert OnHand.objects.get(item=item).quantity == Decimal("10.000")  # 5 before, 5 posted now: once
    assert StockMovement.objects.count() == 2
    assert InboundDelivery.objects.get(pk=delivery.pk).attempts == 2


def test_a_receipt_finds_the_item_by_any_form_of_its_gtin(world):
    from stocktrace.inventory.models import OnHand
    from stocktrace.inventory.services.catalog import item_create, location_create

    actor = world.alpha.actor()
    location_create(actor=actor, site=world.alpha.sites[0], code="DOCK", barcode="DOCK-1")
    item = item_create(actor=actor, sku="CAN", name="Soup", barcodes=["036000291452"])  # UPC-A, 12 digits
    receipts = source_create(actor=actor, name="WMS receipts", handler="stock.receipt")
    push(receipts, {"receipts": [{"location": "DOCK-1", "barcode": "0036000291452", "quantity": "4"}]})
    run_worker()
    assert InboundDelivery.objects.get().status == "processed"
    assert OnHand.objects.get(item=item).quantity == Decimal("4.000")


def test_a_failed_stock_receipt_can_be_replayed_and_is_posted_once(world):
    from stocktrace.inventory.models import OnHand
    from stocktrace.inventory.services.catalog import location_create

    receipts, _, item = _received_by_webhook(world)
    push(receipts, {"receipts": [{"location": "LATER-1", "sku": "P-1", "quantity": "2"}]}, delivery="r-2")
    run_worker()
    failed = InboundDelivery.objects.get(delivery_id="r-2")
    assert failed.status == "dead" and failed.replayable  # nothing was posted: replaying is safe
    location_create(actor=world.alpha.actor(), site=world.alpha.sites[0], code="LATER", barcode="LATER-1")
    inbound_replay(actor=world.alpha.actor(), delivery=failed)
    run_worker()
    failed.refresh_from_db()
    assert failed.status == "processed" and not failed.replayable
    assert sorted(OnHand.objects.filter(item=item).values_list("quantity", flat=True)) == [
        Decimal("2.000"), Decimal("5.000")]


def test_a_processed_upsert_can_be_replayed(source, world):
    push(source, SITES)
    run_worker()
    delivery = InboundDelivery.objects.get()
    assert delivery.status == "processed" and delivery.replayable
    inbound_replay(actor=world.alpha.actor(), delivery=delivery)
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.result) == ("processed", {"created": [], "updated": [], "unchanged": ["ERP-1"]})
    assert Site.objects.filter(code="ERP-1").count() == 1


# A worker lost on a delivery's last attempt ------------------------------------------------------------


def _lose_the_worker_on_the_last_attempt(job: DBTaskResult, max_attempts: int, clock: Clock) -> None:
    """As if every attempt's worker was killed: the last one left the job RUNNING, with no heartbeat."""
    from stocktrace.jobs.worker import sweep_lost_jobs

    DBTaskResult.objects.filter(pk=job.pk).update(
        status="RUNNING", started_at=clock.now, worker_ids=[f"gone-{n}" for n in range(1, max_attempts + 1)])
    clock.advance(seconds=61)
    assert sweep_lost_jobs(lease_seconds=60) == 1


def test_a_worker_lost_on_the_last_attempt_leaves_the_inbound_delivery_dead(source, monkeypatch):
    from django.utils import timezone

    from stocktrace.jobs.models import DeadLetter
    from stocktrace.webhooks.tasks import INBOUND_POLICY

    clock = Clock(monkeypatch, timezone.now())
    assert push(source, SITES).status_code == 202
    job = DBTaskResult.objects.get()
    _lose_the_worker_on_the_last_attempt(job, INBOUND_POLICY.max_attempts, clock)
    delivery = InboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("dead", 1)
    assert delivery.error == "WorkerLost: worker gone-5 stopped sending heartbeats"
    letter = DeadLetter.objects.get()
    assert (letter.task_id, letter.attempts) == (job.pk, 5)
    assert DBTaskResult.objects.get().status == "FAILED"
    assert not Site.objects.filter(code="ERP-1").exists()


def test_a_worker_lost_before_the_last_attempt_leaves_the_delivery_to_its_retry(source, monkeypatch):
    from django.utils import timezone

    clock = Clock(monkeypatch, timezone.now())
    push(source, SITES)
    _lose_the_worker_on_the_last_attempt(DBTaskResult.objects.get(), 4, clock)
    assert (InboundDelivery.objects.get().status, DBTaskResult.objects.get().status) == ("received", "READY")
    clock.advance(hours=1)
    run_worker()
    delivery = InboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error) == ("processed", 1, "")


def test_a_delivery_processed_before_its_worker_was_lost_stays_processed(source, monkeypatch):
    from django.utils import timezone

    from stocktrace.webhooks.tasks import INBOUND_POLICY

    clock = Clock(monkeypatch, timezone.now())
    push(source, SITES)
    job = DBTaskResult.objects.get()
    InboundDelivery.objects.update(status="processed", attempts=1, result={"created": ["ERP-1"]})
    _lose_the_worker_on_the_last_attempt(job, INBOUND_POLICY.max_attempts, clock)
    delivery = InboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error) == ("processed", 1, "")


def test_a_worker_lost_on_the_last_attempt_leaves_the_outbound_delivery_dead(world, monkeypatch):
    from django.utils import timezone

    from stocktrace.jobs.models import DeadLetter
    from stocktrace.webhooks.tasks import OUTBOUND_POLICY, deliver_outbound

    clock = Clock(monkeypatch, timezone.now())
    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["site.created"])
    site_create(actor=world.alpha.actor(), code="NEW-1", name="One")
    job = DBTaskResult.objects.get(task_path=deliver_outbound.module_path)
    _lose_the_worker_on_the_last_attempt(job, OUTBOUND_POLICY.max_attempts, clock)
    delivery = OutboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("dead", 1, None)
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.error) == (None, "WorkerLost: worker gone-8 stopped sending heartbeats")
    assert attempt.attempted_at == clock.now
    assert DeadLetter.objects.get().task_id == job.pk


def _inbound(source, status: str, name: str):
    from django.utils import timezone

    return InboundDelivery.objects.create(
        organization=source.organization, source=source, delivery_id=name, headers={}, body="{}", status=status,
        processed_at=timezone.now() if status == "processed" else None)


def _outbound(subscription, statuses: list[str], name: str) -> OutboundEvent:
    from django.utils import timezone

    event = OutboundEvent.objects.create(organization=subscription.organization, name="site.created",
                                         payload={"name": name})
    for status in statuses:
        delivery = OutboundDelivery.objects.create(
            organization=subscription.organization, event=event, subscription=subscription, status=status,
            delivered_at=timezone.now() if status == "delivered" else None)
        OutboundAttempt.objects.create(delivery=delivery, attempted_at=timezone.now(), response_ms=1.0,
                                       status_code=200 if status == "delivered" else 500)
    return event


INBOUND_STATUSES = ["received", "processed", "failed", "dead"]
OUTBOUND_STATUSES = ["pending", "delivered", "failed", "dead"]


def test_prune_drops_only_finished_deliveries_older_than_the_retention(source, world, monkeypatch, settings):
    from django.utils import timezone

    from stocktrace.webhooks.services import webhooks_prune

    clock = Clock(monkeypatch, timezone.now())
    subscription = subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["ping"])
    for status in INBOUND_STATUSES:
        _inbound(source, status, f"old-{status}")
    old_events = {status: _outbound(subscription, [status], f"old-{status}") for status in OUTBOUND_STATUSES}
    old_mixed = _outbound(subscription, ["dead", "failed"], "old-mixed")
    clock.advance(days=29)
    for status in INBOUND_STATUSES:
        _inbound(source, status, f"new-{status}")
    new_events = {status: _outbound(subscription, [status], f"new-{status}") for status in OUTBOUND_STATUSES}
    clock.advance(days=1, seconds=1)  # the old rows are now 30 days and a second old, the new ones a day

    settings.STOCKTRACE_WEBHOOK_RETENTION_DAYS = 31
    assert webhooks_prune() == {"inbound_deliveries": 0, "outbound_deliveries": 0, "outbound_attempts": 0,
                                "outbound_events": 0}
    settings.STOCKTRACE_WEBHOOK_RETENTION_DAYS = 30
    assert webhooks_prune() == {"inbound_deliveries": 2, "outbound_deliveries": 3, "outbound_attempts": 3,
                                "outbound_events": 2}
    assert sorted(InboundDelivery.objects.values_list("delivery_id", flat=True)) == sorted(
        ["old-received", "old-failed"] + [f"new-{s}" for s in INBOUND_STATUSES])
    assert sorted(OutboundDelivery.objects.values_list("event__payload__name", "status")) == sorted(
        [("old-pending", "pending"), ("old-failed", "failed"), ("old-mixed", "failed")]
        + [(f"new-{s}", s) for s in OUTBOUND_STATUSES])
    kept_events = {old_events["pending"].pk, old_events["failed"].pk, old_mixed.pk,
                   *(e.pk for e in new_events.values())}
    assert set(OutboundEvent.objects.values_list("pk", flat=True)) == kept_events
    assert OutboundAttempt.objects.count() == 7
    assert webhooks_prune(older_than_days=0) == {"inbound_deliveries": 2, "outbound_deliveries": 2,
                                                 "outbound_attempts": 2, "outbound_events": 2}
    assert sorted(InboundDelivery.objects.values_list("status", flat=True)) == [
        "failed", "failed", "received", "received"]


def test_prune_runs_daily_as_a_periodic_job(source, monkeypatch):
    from django.utils import timezone

    from stocktrace.jobs.registry import SCHEDULES
    from stocktrace.webhooks.tasks import prune_webhook_deliveries

    schedule = SCHEDULES["stocktrace.webhooks.tasks.prune_webhook_deliveries"]
    assert (schedule.cron.expression, schedule.task) == ("29 3 * * *", prune_webhook_deliveries)
    clock = Clock(monkeypatch, timezone.now())
    _inbound(source, "processed", "old")
    clock.advance(days=31)
    result = prune_webhook_deliveries.enqueue()
    run_worker()
    assert DBTaskResult.objects.get(pk=result.id).return_value == {
        "inbound_deliveries": 1, "outbound_deliveries": 0, "outbound_attempts": 0, "outbound_events": 0}
    assert not InboundDelivery.objects.exists()


def test_the_job_of_a_pruned_delivery_gives_up_at_once(source, monkeypatch):
    from stocktrace.jobs.models import DeadLetter

    push(source, SITES)
    InboundDelivery.objects.all().delete()
    run_worker()
    assert DeadLetter.objects.get().attempts == 1


# Rotating a source's secret with an overlap -------------------------------------------------------------


@pytest.fixture
def roomy_source(world):
    return source_create(actor=world.alpha.actor(), name="WMS", handler="site.upsert")


def _rotate(world, source, django_capture_on_commit_callbacks, **kwargs):
    from stocktrace.webhooks.services import source_rotate_secret

    with django_capture_on_commit_callbacks(execute=True):  # clears this process's source cache
        return source_rotate_secret(actor=world.alpha.actor(), source=source, **kwargs)


def test_the_previous_secret_is_accepted_until_its_window_ends(roomy_source, world, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    source = roomy_source
    clock = Clock(monkeypatch, timezone.now())
    old = source.secret
    assert push(source, SITES, delivery="before").status_code == 202  # the source is now in the push cache
    rotated = _rotate(world, source, django_capture_on_commit_callbacks, keep_previous_hours=2)
    assert rotated.secret != old
    assert (rotated.previous_secret, rotated.previous_secret_expires_at) == (old, clock.now + timedelta(hours=2))
    assert push(source, SITES, delivery="old-1", secret=old).status_code == 202
    assert push(source, SITES, delivery="new-1", secret=rotated.secret).status_code == 202
    clock.advance(hours=2)
    assert push(source, SITES, delivery="old-2", secret=old).status_code == 401
    assert push(source, SITES, delivery="new-2", secret=rotated.secret).status_code == 202
    assert sorted(InboundDelivery.objects.values_list("delivery_id", flat=True)) == [
        "before", "new-1", "new-2", "old-1"]


def test_a_rotation_without_a_window_stops_the_old_secret_at_once(source, world,
                                                                  django_capture_on_commit_callbacks):
    old = source.secret
    rotated = _rotate(world, source, django_capture_on_commit_callbacks, keep_previous_hours=0)
    assert (rotated.previous_secret, rotated.previous_secret_expires_at) == ("", None)
    assert push(source, SITES, delivery="old", secret=old).status_code == 401
    assert push(source, SITES, delivery="new", secret=rotated.secret).status_code == 202


def test_a_second_rotation_keeps_only_the_secret_it_replaces(source, world, django_capture_on_commit_callbacks):
    first = source.secret
    second = _rotate(world, source, django_capture_on_commit_callbacks).secret
    third = _rotate(world, source, django_capture_on_commit_callbacks, keep_previous_hours=1).secret
    assert push(source, SITES, delivery="1", secret=first).status_code == 401
    assert push(source, SITES, delivery="2", secret=second).status_code == 202
    assert push(source, SITES, delivery="3", secret=third).status_code == 202


def test_signatures_with_both_secrets_are_accepted(source, world, django_capture_on_commit_callbacks):
    old = source.secret
    new = _rotate(world, source, django_capture_on_commit_callbacks, keep_previous_hours=0).secret
    body = json.dumps(SITES).encode()
    timestamp = int(time.time())
    both = f"{signing.sign(old, timestamp, body)},{signing.sign(new, timestamp, body)}"
    signing.verify([new], timestamp=str(timestamp), signature=both, body=body)
    signing.verify([old, new], timestamp=str(timestamp), signature=signing.sign(old, timestamp, body), body=body)
    with pytest.raises(signing.SignatureError):
        signing.verify(["whsec_other", ""], timestamp=str(timestamp), signature=both, body=body)


def test_the_api_rotates_with_a_window_and_audits_it(source, world, client_as, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tests.conftest import api

    clock = Clock(monkeypatch, timezone.now().replace(microsecond=0))
    client = client_as(world.alpha, Role.ADMIN)
    old = source.secret
    response = api(client, "POST", f"/webhooks/sources/{source.pk}/rotate-secret", {"keep_previous_hours": 48})
    assert response.status_code == 200, response.content
    body = response.json()
    source.refresh_from_db()
    assert body["secret"] == source.secret != old and source.previous_secret == old
    assert body["previous_secret_valid_until"].replace("Z", "+00:00") == (
        clock.now + timedelta(hours=48)).isoformat()
    audit = AuditEvent.objects.get(action="webhook_source.rotate_secret")
    assert audit.after == {"keep_previous_hours": 48,
                           "previous_secret_expires_at": (clock.now + timedelta(hours=48)).isoformat()}
    assert old not in json.dumps(audit.after) and source.secret not in json.dumps(audit.after)
    shown = api(client, "GET", f"/webhooks/sources/{source.pk}").json()
    assert "secret" not in shown and shown["previous_secret_valid_until"] == body["previous_secret_valid_until"]
    clock.advance(hours=48)
    assert api(client, "GET", f"/webhooks/sources/{source.pk}").json()["previous_secret_valid_until"] is None

    default = client.post(f"/api/v1/webhooks/sources/{source.pk}/rotate-secret", content_type="application/json")
    assert default.status_code == 200, default.content  # no body: the default window
    source.refresh_from_db()
    assert source.previous_secret_expires_at == clock.now + timedelta(hours=24)
    assert api(client, "POST", f"/webhooks/sources/{source.pk}/rotate-secret", {}).status_code == 200


@pytest.mark.parametrize("window", [-1, 169, 10_000, "24h", None, True, 1.5])
def test_bad_windows_are_refused_and_change_nothing(source, world, client_as, window):
    from tests.conftest import api

    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = api(client, "POST", f"/webhooks/sources/{source.pk}/rotate-secret", {"keep_previous_hours": window})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["path"].endswith("keep_previous_hours")
    assert database_state() == before


@pytest.mark.parametrize("window", [-1, 169])
def test_the_service_refuses_bad_windows(source, world, window):
    from stocktrace.core.errors import InvalidInput
    from stocktrace.webhooks.services import source_rotate_secret

    before = database_state()
    with pytest.raises(InvalidInput):
        source_rotate_secret(actor=world.alpha.actor(), source=source, keep_previous_hours=window)
    assert database_state() == before


def test_the_page_rotates_with_a_window_and_shows_it(source, world, client_as, monkeypatch):
    from django.utils import timezone

    clock = Clock(monkeypatch, timezone.now())
    client = client_as(world.alpha, Role.ADMIN)
    page = client.get(f"/webhooks/sources/{source.pk}/").content.decode()
    assert 'name="keep_previous_hours"' in page and 'data-testid="previous-secret"' not in page
    response = client.post(f"/webhooks/sources/{source.pk}/rotate/", {"keep_previous_hours": "12"}, follow=True)
    source.refresh_from_db()
    until = timezone.localtime(source.previous_secret_expires_at).strftime("%Y-%m-%d %H:%M")
    assert [str(m) for m in response.context["messages"]] == [
        f"Source ERP has a new secret; the old one is still accepted until {until} "
        f"{timezone.localtime(source.previous_secret_expires_at).tzname()}."]
    assert response.context["secret"] == source.secret
    page = client.get(f"/webhooks/sources/{source.pk}/").content.decode()
    assert "Previous secret valid until" in page and until in page
    clock.advance(hours=12)
    assert "Previous secret valid until" not in client.get(f"/webhooks/sources/{source.pk}/").content.decode()


@pytest.mark.parametrize(("value", "error"), [
    ("169", "Keep the previous secret for 0–168 hours. Nothing was changed."),
    ("-1", "Keep the previous secret for 0–168 hours. Nothing was changed."),
    ("two", "Give the hours to keep the old secret as a whole number. Nothing was changed."),
])
def test_the_page_refuses_bad_windows(source, world, client_as, value, error):
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post(f"/webhooks/sources/{source.pk}/rotate/", {"keep_previous_hours": value}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [error]
    assert response.context["secret"] is None
    assert database_state() == before


def test_the_server_sends_pushes_through_a_short_middleware_chain(source):
    body = json.dumps(SITES).encode()
    timestamp = int(time.time())
    signed = {signing.DELIVERY_HEADER: "wsgi-1", signing.TIMESTAMP_HEADER: str(timestamp),
              signing.SIGNATURE_HEADER: signing.sign(source.secret, timestamp, body), "X-Request-ID": "push-42"}
    pushed = through_the_server_application("POST", f"/hooks/{source.organization.slug}/{source.slug}", body, signed)
    assert pushed["status"] == 202 and json.loads(pushed["body"])["duplicate"] is False
    assert pushed["headers"]["X-Request-ID"] == "push-42"  # the request log middleware ran
    assert "X-Frame-Options" not in pushed["headers"] and "Set-Cookie" not in pushed["headers"]
    assert InboundDelivery.objects.get().delivery_id == "wsgi-1"
    nul = through_the_server_application("POST", f"/hooks/{source.organization.slug}/{source.slug}",
                                          b'{"a": "\\u0000"}', signed)
    assert nul["status"] == 422  # the NUL refusal ran
    health = through_the_server_application("GET", "/healthz")
    assert health["status"] == 200 and health["headers"]["X-Frame-Options"] == "DENY"  # everything else: all of it


def _send(port: int, source, delivery: str) -> int | None:
    """One signed push over HTTP; its status, or None when the server did not answer."""
    body = json.dumps(SITES).encode()
    timestamp = int(time.time())
    return post(f"http://127.0.0.1:{port}/hooks/{source.organization.slug}/{source.slug}", body, {
        "Content-Type": "application/json", signing.DELIVERY_HEADER: delivery, signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.sign(source.secret, timestamp, body)})


@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.django_db(transaction=True)
def test_no_accepted_push_is_lost_when_the_server_is_killed_mid_stream():
    # Power loss in the middle of a stream of pushes: every push answered 202 is stored with its job, and the
    # sender's retries of the unanswered ones (same delivery ids) leave exactly one delivery and one job each.
    from tests.factories import make_world

    skip_without_database_file()
    world = make_world()
    source = source_create(actor=world.alpha.actor(), name="ERP", handler="site.upsert",
                           rate_limit_per_minute=100_000)
    port = free_port()
    answers = stream_until_killed(serve(port), lambda delivery: _send(port, source, delivery), accepted=202,
                                  enough=40)
    accepted = {delivery for delivery, status in answers.items() if status == 202}
    assert set(answers.values()) <= {202, None}
    stored = set(InboundDelivery.objects.values_list("delivery_id", flat=True))
    assert accepted <= stored

    server = serve(port)
    try:
        retried = {delivery: _send(port, source, delivery) for delivery in answers if delivery not in accepted}
    finally:
        kill_group(server)
    assert set(retried.values()) <= {200, 202}
    assert all(status == 200 for delivery, status in retried.items() if delivery in stored)
    deliveries = InboundDelivery.objects.filter(source=source)
    assert sorted(deliveries.values_list("delivery_id", flat=True)) == sorted(answers)
    jobs = DBTaskResult.objects.filter(task_path="stocktrace.webhooks.tasks.process_inbound_delivery")
    assert sorted(job.args_kwargs["kwargs"]["delivery_id"] for job in jobs) == sorted(d.pk for d in deliveries)


def test_the_webhooks_page_lists_the_event_catalogue_and_only_events_to_come_as_not_built():
    import re
    from pathlib import Path

    from stocktrace.events.catalogue import event_catalogue

    EVENTS = event_catalogue()

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    table = text.split("### Events", 1)[1].split("\n\n", 2)[1]
    assert re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.M) == list(EVENTS)
    to_come = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", text.split("## Not built yet", 1)[1]))
    planned = {"count.completed", "count_area.approved", "bill.finalized", "container.scanned"}
    assert planned - set(EVENTS) <= to_come, "a planned event is neither in the catalogue nor under Not built yet"
    assert not to_come & set(EVENTS), "an event that exists now belongs in the event list, not under Not built yet"


@pytest.mark.parametrize("depth", [65, 1000])
def test_a_push_nested_too_deep_is_a_problem_400_and_nothing_is_stored(source, depth):
    before = database_state()
    refused = push(source, None, raw=b'{"sites": ' + b"[" * depth + b"]" * depth + b"}")
    assert (refused.status_code, refused["Content-Type"]) == (400, "application/problem+json")
    assert refused.json()["detail"] == "The JSON is nested more than 64 levels deep"
    assert database_state() == before


def test_a_push_nested_64_deep_is_accepted(source):
    assert push(source, None, raw=b'{"sites": ' + b"[" * 63 + b"]" * 63 + b"}").status_code == 202
