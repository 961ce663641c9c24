"""Batch sync for offline devices: each scan answered by itself, duplicates within and across batches, reordered
device times, a mix of valid and invalid scans, undos naming their scan, and a failed request writing nothing."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from stocktrace.counts import selectors
from stocktrace.counts.models import CountDevice, CountScan
from stocktrace.counts.services import sync as sync_services
from stocktrace.counts.services.sync import SyncScan
from stocktrace.tenancy.roles import Role
from tests.conftest import api, database_state
from tests.counts.cases import free_area, held_area
from tests.factories import make_world, stocked

EAN = "4006381333931"


def _scan(area, **fields) -> dict:
    return {"uuid": str(uuid.uuid4()), "area_id": area.pk, "code": EAN, **fields}


def test_a_batch_is_answered_scan_by_scan(world, client_as):
    area = held_area(world.alpha, Role.COUNTER)
    other = free_area(world.alpha)  # nobody holds it
    bravo_area = held_area(world.bravo, Role.COUNTER)
    earlier = (timezone.now() - timedelta(minutes=5)).isoformat()
    first = _scan(area, quantity="2", scanned_at=earlier)
    batch = [
        first,
        _scan(area, code="NEVER-SEEN"),
        _scan(other),
        _scan(bravo_area),
        {**first},  # the same scan twice in one batch
        _scan(area, scanned_at=(timezone.now() - timedelta(minutes=9)).isoformat()),  # older than the first
    ]
    answer = api(client_as(world.alpha, Role.COUNTER), "POST", "/count-sync",
                 {"device_id": "phone-7", "app_version": "1.4.0", "pending": 12, "scans": batch})
    assert answer.status_code == 200, answer.content
    results = answer.json()["results"]
    assert [(r["uuid"], r["outcome"]) for r in results] == [
        (batch[0]["uuid"], "accepted"), (batch[1]["uuid"], "exception"), (batch[2]["uuid"], "rejected"),
        (batch[3]["uuid"], "rejected"), (batch[4]["uuid"], "duplicate"), (batch[5]["uuid"], "accepted")]
    assert results[2]["reason"] == f"Area {other.barcode} is available: scans are closed there"
    assert results[3]["reason"] == "No such count area"
    assert results[4]["scan_id"] == results[0]["scan_id"]
    assert answer.json()["device"] | {"last_sync_at": None} == {
        "device_id": "phone-7", "member_email": "counter@alpha.test", "app_version": "1.4.0",
        "last_sync_at": None, "pending": 12, "last_error": "", "scans_synced": 3}
    assert not CountScan.objects.filter(area=bravo_area).exists()
    area.refresh_from_db()
    assert area.status == "counting"

    again = api(client_as(world.alpha, Role.COUNTER), "POST", "/count-sync",
                {"device_id": "phone-7", "scans": batch})  # the answer was lost: the device sends it all again
    assert [r["outcome"] for r in again.json()["results"]] == [
        "duplicate", "duplicate", "rejected", "rejected", "duplicate", "duplicate"]
    assert CountScan.objects.filter(area=area).count() == 3
    assert CountDevice.objects.get().scans_synced == 3


def test_an_undo_in_a_batch_names_the_scan_it_takes_back(world):
    area = held_area(world.alpha, Role.COUNTER)
    counter = world.alpha.actor(Role.COUNTER)
    slip = uuid.uuid4()
    answers, _ = sync_services.scans_sync(actor=counter, device_id="phone-1", scans=[
        SyncScan(uuid=uuid.uuid4(), area_id=area.pk, code=EAN, quantity=3),
        SyncScan(uuid=slip, area_id=area.pk, code=EAN, quantity=30),
        SyncScan(uuid=uuid.uuid4(), area_id=area.pk, kind="undo", undoes=slip),
        SyncScan(uuid=uuid.uuid4(), area_id=area.pk, kind="undo", undoes=slip),  # twice: nothing left to undo
    ])
    assert [a.outcome for a in answers] == ["accepted", "accepted", "accepted", "rejected"]
    assert answers[3].reason.startswith("Nothing to undo")
    item, _ = stocked(world.alpha)
    assert selectors.area_counted(area) == {(item.pk, area.location_id, ""): 3}


def test_a_malformed_batch_is_a_problem_and_writes_nothing(world, client_as):
    area = held_area(world.alpha, Role.COUNTER)
    client = client_as(world.alpha, Role.COUNTER)
    before = database_state()
    for body in [{"device_id": "phone-1", "scans": [_scan(area), {"uuid": "x", "area_id": area.pk}]},
                 {"device_id": "phone-1", "scans": [_scan(area)] * (sync_services.SYNC_MAX + 1)},
                 {"device_id": "", "scans": [_scan(area)]}]:
        answer = api(client, "POST", "/count-sync", body)
        assert (answer.status_code, answer["Content-Type"]) == (422, "application/problem+json"), answer.content[:300]
    assert database_state() == before


def test_a_batch_is_written_in_bounded_chunks(world, monkeypatch):
    monkeypatch.setattr(sync_services, "CHUNK", 7)
    area = held_area(world.alpha, Role.COUNTER)
    scans = [SyncScan(uuid=uuid.uuid4(), area_id=area.pk, code=EAN) for _ in range(30)]
    answers, device = sync_services.scans_sync(actor=world.alpha.actor(Role.COUNTER), device_id="d", scans=scans)
    assert [a.outcome for a in answers] == ["accepted"] * 30
    assert CountScan.objects.filter(area=area).count() == 30 and device.scans_synced == 30


@pytest.mark.django_db(transaction=True)
def test_two_connections_syncing_the_same_batch_at_once_write_each_scan_once():
    world = make_world()
    area = held_area(world.alpha, Role.COUNTER)
    scans = [SyncScan(uuid=uuid.uuid4(), area_id=area.pk, code=EAN) for _ in range(40)]
    barrier, outcomes = threading.Barrier(2), []

    def sync():
        barrier.wait()
        try:
            answers, _ = sync_services.scans_sync(actor=world.alpha.actor(Role.COUNTER), device_id="d", scans=scans)
            outcomes.append([a.outcome for a in answers])
        finally:
            connection.close()

    threads = [threading.Thread(target=sync) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(outcomes) == 2
    assert all({a, b} == {"accepted", "duplicate"} for a, b in zip(*outcomes, strict=True))
    assert CountScan.objects.filter(area=area).count() == 40
