"""A count over the API as a supervisor and a counter's device do it: plan, areas, start, claim by the label's
barcode, scan (retries included), submit, review; blind counts hide what was expected from counters."""

import uuid

import pytest

from stocktrace.counts.models import CountScan
from stocktrace.inventory.services.catalog import location_create
from stocktrace.tenancy.roles import Role
from tests.conftest import api, database_state
from tests.factories import stocked

EAN = "4006381333931"


@pytest.fixture
def clients(world, client_as):
    return client_as(world.alpha, Role.SUPERVISOR), client_as(world.alpha, Role.COUNTER)


def _planned_and_started(world, supervisor, mode="blind") -> tuple[dict, dict]:
    _, bin_ = stocked(world.alpha)
    count = api(supervisor, "POST", "/counts", {"site_id": world.alpha.sites[0].pk, "name": "Bin A-01",
                                                "kind": "cycle", "mode": mode})
    assert count.status_code == 201, count.content
    areas = api(supervisor, "POST", f"/counts/{count.json()['id']}/areas", {"location_ids": [bin_.pk]})
    assert areas.status_code == 201, areas.content
    started = api(supervisor, "POST", f"/counts/{count.json()['id']}/start")
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    return started.json(), areas.json()[0]


def test_a_count_through_the_api(world, clients):
    supervisor, counter = clients
    count, area = _planned_and_started(world, supervisor)
    assert count["progress"] == {"areas": 1, "by_status": {"available": 1}, "scans": 0, "last_scan_at": None,
                                 "scans_last_hour": 0, "open_exceptions": 0}
    claimed = api(counter, "POST", "/count-areas/claim", {"barcode": area["barcode"]})
    assert (claimed.status_code, claimed.json()["holder_email"]) == (200, "counter@alpha.test")

    scan = {"uuid": str(uuid.uuid4()), "code": EAN, "quantity": "4.000", "device_id": "phone-1",
            "scanned_at": "2026-12-02T09:00:00+01:00"}
    first = api(counter, "POST", f"/count-areas/{area['id']}/scans", scan)
    assert first.status_code == 201, first.content
    assert {k: first.json()[k] for k in ("outcome", "quantity", "device_id", "scanned_at", "counter_email")} == {
        "outcome": "accepted", "quantity": "4.000", "device_id": "phone-1", "scanned_at": "2026-12-02T08:00:00Z",
        "counter_email": "counter@alpha.test"}
    retry = api(counter, "POST", f"/count-areas/{area['id']}/scans", scan)  # the answer was lost: the device retries
    assert (retry.status_code, retry.json()["outcome"], retry.json()["id"]) == (201, "duplicate", first.json()["id"])
    unknown = api(counter, "POST", f"/count-areas/{area['id']}/scans", {"uuid": str(uuid.uuid4()), "code": "ZZZ-1"})
    assert unknown.json()["outcome"] == "exception" and unknown.json()["item_id"] is None

    mine = api(counter, "GET", f"/count-areas/{area['id']}").json()
    assert mine["my_total"] == "4.000"
    assert mine["lines"] == [{"item_id": stocked(world.alpha)[0].pk, "location_id": area["location_id"], "lot": "",
                              "counted": "4.000", "expected": None}]  # blind: the counter does not see 10
    seen = api(supervisor, "GET", f"/count-areas/{area['id']}").json()
    assert seen["lines"][0]["expected"] == "10.000"

    exceptions = api(supervisor, "GET", f"/counts/{count['id']}/exceptions").json()["items"]
    assert [(e["code"], e["kind"], e["status"]) for e in exceptions] == [("ZZZ-1", "unknown_code", "open")]
    dismissed = api(supervisor, "POST", f"/count-exceptions/{exceptions[0]['id']}/dismiss", {"reason": "Label"})
    assert dismissed.json()["status"] == "dismissed"

    assert api(counter, "POST", f"/count-areas/{area['id']}/submit").json()["status"] == "ready_for_approval"
    approved = api(supervisor, "POST", f"/count-areas/{area['id']}/approve", {})
    assert approved.json()["status"] == "approved"
    scans = api(supervisor, "GET", f"/count-areas/{area['id']}/scans").json()["items"]
    assert [(s["code"], s["outcome"]) for s in scans] == [(EAN, "accepted"), ("ZZZ-1", "exception")]


def test_a_visible_count_shows_counters_what_was_expected(world, clients):
    supervisor, counter = clients
    _, area = _planned_and_started(world, supervisor, mode="visible")
    assert api(counter, "GET", f"/count-areas/{area['id']}").json()["lines"][0]["expected"] == "10.000"


@pytest.mark.parametrize(("path", "body", "status", "detail"), [
    ("/count-areas/claim", {"barcode": "0000-999"}, 404, "No count area with barcode '0000-999' in an open count"),
    ("/count-areas/{area}/scans", {"uuid": "not-a-uuid", "code": EAN}, 422, None),
    ("/count-areas/{area}/scans", {"uuid": str(uuid.UUID(int=1)), "code": EAN, "quantity": "0"}, 422, None),
    ("/count-areas/{area}/scans", {"uuid": str(uuid.UUID(int=2)), "code": EAN}, 409,
     "is available: scans are closed there"),
    ("/counts/{count}/cancel", {"reason": ""}, 422, None),
])
def test_bad_calls_get_a_problem_and_change_nothing(world, clients, path, body, status, detail):
    supervisor, counter = clients
    count, area = _planned_and_started(world, supervisor)
    before = database_state()
    answer = api(counter if "area" in path else supervisor, "POST",
                 path.format(area=area["id"], count=count["id"]), body)
    assert (answer.status_code, answer["Content-Type"]) == (status, "application/problem+json"), answer.content
    if detail:
        assert detail in answer.json()["detail"]
    assert database_state() == before


def test_areas_of_another_site_are_refused(world, clients):
    supervisor, _ = clients
    count = api(supervisor, "POST", "/counts", {"site_id": world.alpha.sites[0].pk, "name": "C"}).json()
    far = location_create(actor=world.alpha.actor(), site=world.alpha.sites[1], code="F-1")
    answer = api(supervisor, "POST", f"/counts/{count['id']}/areas", {"location_ids": [far.pk]})
    assert answer.status_code == 404  # the supervisor does not see site 2 at all
    assert CountScan.objects.count() == 0
