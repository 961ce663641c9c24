"""Alerts that stocktrace resolves itself, the recheck job that recomputes them all, and who did what."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult

from stocktrace.audit.models import AuditEvent
from stocktrace.inventory.models import StockAlert
from stocktrace.inventory.services.alerts import alert_acknowledge, alerts_expiry_scan, alerts_recheck
from stocktrace.inventory.services.catalog import item_create, item_update, location_create
from stocktrace.inventory.services.ledger import stock_issue, stock_receive, stock_transfer
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state
from tests.job_fixtures import run_worker

pytestmark = pytest.mark.usefixtures("worker_keeps_the_test_transaction")


@pytest.fixture
def store(world):
    actor = world.alpha.actor()
    bins = [location_create(actor=actor, site=world.alpha.sites[0], code=f"A-{n}") for n in range(2)]
    return actor, bins


def open_alerts() -> set[tuple[str, str]]:
    return set(StockAlert.objects.exclude(status="resolved").values_list("item__sku", "kind"))


def test_an_expiry_alert_is_resolved_once_its_lot_is_gone(store):
    actor, bins = store
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    today = date(2030, 6, 1)
    stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="4", lot="L1",
                  expires_on=today + timedelta(days=2))
    stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="1", lot="L2",
                  expires_on=today + timedelta(days=2))
    assert alerts_expiry_scan(today=today) == {"expired": 0, "expiring": 2, "resolved": 0}
    stock_issue(actor=actor, item=milk, location=bins[0], quantity_issued="4", lot="L1")  # used up
    stock_transfer(actor=actor, item=milk, source=bins[0], destination=bins[1], quantity_moved="1", lot="L2")
    assert alerts_expiry_scan(today=today) == {"expired": 0, "expiring": 1, "resolved": 2}
    gone = StockAlert.objects.get(lot="L1")
    assert (gone.status, gone.resolved_by, gone.resolution) == (
        "resolved", None, "none of the lot left at the location")
    moved = StockAlert.objects.exclude(status="resolved").get()
    assert (moved.lot, moved.location) == ("L2", bins[1])  # the lot is watched where it is now


def test_an_expiring_alert_gives_way_to_the_expired_one(store):
    actor, bins = store
    milk = item_create(actor=actor, sku="MILK", name="Milk", tracks_lots=True, tracks_expiry=True)
    stock_receive(actor=actor, item=milk, location=bins[0], quantity_received="2", lot="L1",
                  expires_on=date(2030, 6, 3))
    alerts_expiry_scan(today=date(2030, 6, 1))
    assert alerts_expiry_scan(today=date(2030, 6, 4)) == {"expired": 1, "expiring": 0, "resolved": 1}
    assert open_alerts() == {("MILK", "expired")}
    expiring = StockAlert.objects.get(kind="expiring")
    assert expiring.resolution == "expired on 2030-06-03: see its expired alert"


def test_the_recheck_raises_what_new_levels_call_for_and_resolves_what_is_over(store, world):
    actor, bins = store
    bolts = item_create(actor=actor, sku="BOLT", name="Bolts")
    nuts = item_create(actor=actor, sku="NUT", name="Nuts", min_level="10")
    stock_receive(actor=actor, item=bolts, location=bins[0], quantity_received="3")
    stock_receive(actor=actor, item=nuts, location=bins[0], quantity_received="4")
    assert open_alerts() == {("NUT", "low_stock")}
    # Levels changed without a movement: the alerts are out of date until a recheck.
    item_update(actor=actor, item=bolts, min_level="5")
    item_update(actor=actor, item=nuts, min_level=None)
    assert open_alerts() == {("NUT", "low_stock")}
    progress = []
    result = alerts_recheck(organization=world.alpha.organization, progress=lambda *done: progress.append(done))
    assert open_alerts() == {("BOLT", "low_stock")}
    assert StockAlert.objects.get(item=nuts).resolution == "the item has no minimum or maximum any more"
    assert result == {"pairs_checked": 2, "open_before": 1, "open_after": 1, "expired": 0, "expiring": 0}
    assert progress == [(2, 2)]
    again = alerts_recheck(organization=world.alpha.organization)  # nothing left to change
    assert (again["open_before"], again["open_after"], open_alerts()) == (1, 1, {("BOLT", "low_stock")})
    assert StockAlert.objects.count() == 2


def test_the_recheck_leaves_other_organizations_alone(store, world):
    actor, bins = store
    theirs = world.bravo.actor()
    their_bin = location_create(actor=theirs, site=world.bravo.sites[0], code="B-1")
    their_item = item_create(actor=theirs, sku="THEIRS", name="Theirs", min_level="10")
    stock_receive(actor=theirs, item=their_item, location=their_bin, quantity_received="1")
    item_update(actor=theirs, item=their_item, min_level=None)
    alerts_recheck(organization=world.alpha.organization)
    assert StockAlert.objects.get(item=their_item).status == "open"


def test_the_recheck_runs_as_a_job_from_the_page_with_its_progress(store, world, client_as):
    actor, bins = store
    bolts = item_create(actor=actor, sku="BOLT", name="Bolts")
    stock_receive(actor=actor, item=bolts, location=bins[0], quantity_received="3")
    item_update(actor=actor, item=bolts, max_level="2")
    client = client_as(world.alpha, Role.SUPERVISOR)
    response = client.post("/alerts/recheck/")
    job = DBTaskResult.objects.get(task_path="stocktrace.inventory.tasks.recheck_alerts")
    assert response.status_code == 302 and response["Location"] == f"/alerts/?job={job.pk}"
    page = client.get(response["Location"]).content.decode()
    assert f"/api/v1/jobs/{job.pk}/progress" in page and "Waiting for a worker" in page
    assert AuditEvent.objects.filter(action="alerts.recheck", actor=world.alpha.user(Role.SUPERVISOR)).exists()
    run_worker()
    assert open_alerts() == {("BOLT", "excess")}
    progress = client.get(f"/api/v1/jobs/{job.pk}/progress").json()
    assert (progress["done"], progress["total"]) == (1, 1)
    assert progress["message"] == "done: 1 open alerts (were 0)"


def test_the_recheck_from_the_api_answers_where_to_follow_it(world, client_as):
    response = client_as(world.alpha, Role.ADMIN).post("/api/v1/alerts/recheck")
    job = DBTaskResult.objects.get()
    assert response.status_code == 202
    assert response.json() == {"task_id": str(job.pk), "progress_url": f"/api/v1/jobs/{job.pk}/progress"}


def test_counters_cannot_recheck(world, client_as):
    client = client_as(world.alpha, Role.COUNTER)
    before = database_state()
    assert client.post("/api/v1/alerts/recheck").status_code == 403
    assert client.post("/alerts/recheck/").status_code == 403
    assert database_state() == before


def test_who_acknowledged_and_resolved_is_shown(store, world, client_as):
    actor, bins = store
    nuts = item_create(actor=actor, sku="NUT", name="Nuts", min_level="10")
    stock_receive(actor=actor, item=nuts, location=bins[0], quantity_received="4")
    supervisor = world.alpha.actor(Role.SUPERVISOR)
    alert_acknowledge(actor=supervisor, alert=StockAlert.objects.get())
    client = client_as(world.alpha, Role.ADMIN)
    [shown] = client.get("/api/v1/alerts").json()["items"]
    assert (shown["status"], shown["acknowledged_by"], shown["resolved_by"], shown["resolution"]) == (
        "acknowledged", "supervisor@alpha.test", None, "")
    assert "by supervisor@alpha.test" in client.get("/alerts/").content.decode()
    stock_receive(actor=actor, item=nuts, location=bins[0], quantity_received="6")
    [shown] = client.get("/api/v1/alerts?status=resolved").json()["items"]
    assert (shown["resolved_by"], shown["resolution"]) == (None, "10 ea on hand at the site")
    assert "by stocktrace: 10 ea on hand at the site" in client.get("/alerts/?status=all").content.decode()
    assert Decimal(shown["quantity"]) == Decimal("4")  # the last crossing's figure, kept with the alert
