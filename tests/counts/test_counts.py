"""Counts through their services: plan, areas and their barcodes, the expected snapshot, one count in progress per
site, claiming, scanning (idempotent, append-only, never dropped), undo, review and recount, exceptions."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.counts import selectors
from stocktrace.counts.models import CountArea, CountException, CountExpected, CountScan, CountSession
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import completion
from stocktrace.counts.services import scans as scan_services
from stocktrace.counts.services import sessions as session_services
from stocktrace.counts.services.scans import ScanOutcome
from stocktrace.events import catalogue
from stocktrace.inventory.models import ItemBarcode, OnHand, StockAlert, StockMovement
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_issue, stock_receive
from stocktrace.tenancy.roles import Role
from tests.factories import make_world

EAN = "4006381333931"


@pytest.fixture
def rack(world):
    """Rack R1 at alpha's first site with bins R1-1 (10 bolts) and R1-2 (4 bolts, 2 nuts); bin Z-9 elsewhere."""
    admin = world.alpha.actor()
    site = world.alpha.sites[0]
    r1 = location_create(actor=admin, site=site, code="R1", kind="rack")
    bins = [location_create(actor=admin, site=site, code=f"R1-{n}", parent=r1) for n in (1, 2)]
    bolt = item_create(actor=admin, sku="BOLT", name="Bolt", unit_cost="0.5", barcodes=[EAN])
    nut = item_create(actor=admin, sku="NUT", name="Nut")
    stock_receive(actor=admin, item=bolt, location=bins[0], quantity_received="10")
    stock_receive(actor=admin, item=bolt, location=bins[1], quantity_received="4")
    stock_receive(actor=admin, item=nut, location=bins[1], quantity_received="2")
    other = location_create(actor=admin, site=site, code="Z-9")
    return r1, bins, bolt, nut, other


def _started(world, locations, *, kind="cycle", mode="blind") -> tuple[CountSession, list[CountArea]]:
    admin = world.alpha.actor()
    session = session_services.session_plan(actor=admin, site=world.alpha.sites[0], name="Rack R1", kind=kind,
                                            mode=mode)
    areas = session_services.areas_add(actor=admin, session=session, locations=locations)
    return session_services.session_start(actor=admin, session=session), areas


def _scan(world, area, code=EAN, role=Role.COUNTER, **kwargs):
    return scan_services.scan_record(actor=world.alpha.actor(role), area=area,
                                     scan_uuid=kwargs.pop("scan_uuid", uuid.uuid4()), code=code, **kwargs)


def _claimed(world, area, role=Role.COUNTER) -> CountArea:
    return area_services.area_claim(actor=world.alpha.actor(role), area=area)


# Sessions, areas, snapshot ----------------------------------------------------------------------------------

def test_starting_snapshots_what_each_area_holds_per_item_location_and_lot(world, rack):
    r1, bins, bolt, nut, other = rack
    session, (area,) = _started(world, [r1])
    assert session.status == "in_progress" and session.started_at is not None
    expected = {(e.item.sku, e.location.code, e.quantity) for e in CountExpected.objects.select_related(
        "item", "location")}
    assert expected == {("BOLT", "R1-1", Decimal("10")), ("BOLT", "R1-2", Decimal("4")),
                        ("NUT", "R1-2", Decimal("2"))}
    assert set(CountExpected.objects.values_list("area_id", flat=True)) == {area.pk}


def test_area_barcodes_follow_the_format_and_number_on_across_open_counts(world, rack, settings):
    r1, bins, bolt, nut, other = rack
    today = timezone.localdate()
    first, areas = _started(world, [other, r1])
    assert [(a.location.code, a.barcode) for a in areas] == [
        ("R1", f"{today:%d%m}-001"), ("Z-9", f"{today:%d%m}-002")]
    session_services.count_settings_update(actor=world.alpha.actor(), area_barcode_format="{SITE}/{YYYY}-{NNN}")
    second = session_services.session_plan(actor=world.alpha.actor(), site=world.alpha.sites[1], name="Site 2")
    far = location_create(actor=world.alpha.actor(), site=world.alpha.sites[1], code="F-1")
    (area,) = session_services.areas_add(actor=world.alpha.actor(), session=second, locations=[far])
    assert area.barcode == f"ALPHA-2/{today:%Y}-003"
    # A cancelled count frees its barcodes (and numbers) for the next one.
    session_services.session_cancel(actor=world.alpha.actor(), session=first, reason="Wrong day")
    session_services.session_cancel(actor=world.alpha.actor(), session=second, reason="Wrong day")
    session_services.count_settings_update(actor=world.alpha.actor(), area_barcode_format="{DD}{MM}-{NNN}")
    _, again = _started(world, [r1])
    assert again[0].barcode == f"{today:%d%m}-001"


@pytest.mark.parametrize(("fmt", "error"), [
    ("{DD}{MM}", "The format must contain {NNN}"), ("{NNN}-{HH}", "Only these fields may appear in braces"),
    ("A {NNN}", "up to 40 printable ASCII characters"),
])
def test_a_barcode_format_without_a_number_or_with_unknown_fields_is_refused(world, fmt, error):
    with pytest.raises(InvalidInput, match=error):
        session_services.count_settings_update(actor=world.alpha.actor(), area_barcode_format=fmt)


def test_an_area_is_counted_once_and_in_the_counts_site(world, rack):
    r1, bins, bolt, nut, other = rack
    admin = world.alpha.actor()
    session = session_services.session_plan(actor=admin, site=world.alpha.sites[0], name="R1", kind="cycle")
    session_services.areas_add(actor=admin, session=session, locations=[r1])
    with pytest.raises(Conflict, match="R1-1, which lies in R1"):
        session_services.areas_add(actor=admin, session=session, locations=[bins[0]])
    with pytest.raises(Conflict, match="Z-9 twice"):
        session_services.areas_add(actor=admin, session=session, locations=[other, other])
    far = location_create(actor=admin, site=world.alpha.sites[1], code="F-1")
    with pytest.raises(InvalidInput, match="F-1 is not in the count's site"):
        session_services.areas_add(actor=admin, session=session, locations=[far])
    assert session.areas.count() == 1


def test_a_full_stocktake_must_cover_every_location_holding_stock(world, rack):
    r1, bins, bolt, nut, other = rack
    stock_receive(actor=world.alpha.actor(), item=nut, location=other, quantity_received="1")
    with pytest.raises(Conflict, match="1 lie outside its areas: Z-9"):
        _started(world, [r1], kind="full")
    assert CountSession.objects.get().status == "planned"
    assert CountExpected.objects.count() == 0


def test_one_count_in_progress_per_site(world, rack):
    r1, bins, bolt, nut, other = rack
    _started(world, [r1])
    with pytest.raises(Conflict, match="Another count of site ALPHA-1 is in progress"):
        _started(world, [other])
    assert CountSession.objects.filter(status="in_progress").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_starting_counts_of_one_site_at_once_start_one():
    world = make_world()
    admin = world.alpha.actor()
    sessions = []
    for n in range(2):
        session = session_services.session_plan(actor=admin, site=world.alpha.sites[0], name=f"C{n}", kind="spot")
        session_services.areas_add(actor=admin, session=session, locations=[
            location_create(actor=admin, site=world.alpha.sites[0], code=f"S-{n}")])
        sessions.append(session)
    barrier, outcomes = threading.Barrier(2), []

    def start(session):
        barrier.wait()
        try:
            session_services.session_start(actor=admin, session=session)
            outcomes.append("started")
        except Conflict as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(s,)) for s in sessions]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["Another count of site ALPHA-1 is in progress: complete or cancel it first",
                                "started"]
    assert CountSession.objects.filter(status="in_progress").count() == 1


def test_cancelling_needs_a_reason(world, rack):
    session, _ = _started(world, [rack[0]])
    with pytest.raises(InvalidInput, match="Give a reason"):
        session_services.session_cancel(actor=world.alpha.actor(), session=session, reason="  ")
    cancelled = session_services.session_cancel(actor=world.alpha.actor(), session=session, reason="Fire drill")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Fire drill")
    assert not CountArea.objects.filter(is_open=True).exists()
    with pytest.raises(Conflict, match="is cancelled"):
        session_services.session_cancel(actor=world.alpha.actor(), session=session, reason="Again")


# Claiming and scanning ---------------------------------------------------------------------------------------

def test_a_counter_claims_an_area_by_its_barcode_and_scans_into_it(world, rack):
    r1, bins, bolt, nut, other = rack
    _, (area,) = _started(world, [r1])
    found = selectors.area_by_barcode(actor=world.alpha.actor(Role.COUNTER), barcode=f" {area.barcode} ")
    area = _claimed(world, found)
    assert (area.status, area.holder, area.round) == ("assigned", world.alpha.members[Role.COUNTER], 1)
    assert _claimed(world, area).status == "assigned"  # claiming one's own area again changes nothing
    with pytest.raises(Conflict, match="held by counter@alpha.test"):
        _claimed(world, area, Role.SUPERVISOR)

    first = _scan(world, area, quantity="2")
    assert first.outcome == ScanOutcome.ACCEPTED
    _scan(world, area, code="BOLT", location=bins[1])  # by SKU, into the rack's second bin
    _scan(world, area, code="0" + EAN)  # a GTIN-14 form of the same barcode
    area.refresh_from_db()
    assert area.status == "counting"
    assert selectors.area_counted(area) == {(bolt.pk, r1.pk, ""): Decimal("3"), (bolt.pk, bins[1].pk, ""): Decimal(1)}
    assert selectors.my_area_total(area, world.alpha.actor(Role.COUNTER)) == Decimal("4")


def test_the_same_uuid_twice_is_one_scan_and_answers_the_first_result(world, rack):
    _, (area,) = _started(world, [rack[0]])
    area = _claimed(world, area)
    scan_uuid = uuid.uuid4()
    first = _scan(world, area, scan_uuid=scan_uuid, quantity="5")
    again = _scan(world, area, scan_uuid=scan_uuid, quantity="7", code="NUT")
    assert (again.outcome, again.scan.pk, again.scan.quantity) == (ScanOutcome.DUPLICATE, first.scan.pk, Decimal(5))
    assert CountScan.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_uuid_from_two_connections_at_once_is_one_scan():
    world = make_world()
    admin = world.alpha.actor()
    location = location_create(actor=admin, site=world.alpha.sites[0], code="HOT")
    item_create(actor=admin, sku="HOT", name="Hot item", barcodes=[EAN])
    session = session_services.session_plan(actor=admin, site=world.alpha.sites[0], name="Hot", kind="spot")
    (area,) = session_services.areas_add(actor=admin, session=session, locations=[location])
    session_services.session_start(actor=admin, session=session)
    area = area_services.area_claim(actor=world.alpha.actor(Role.COUNTER), area=area)
    scan_uuid, barrier, outcomes = uuid.uuid4(), threading.Barrier(2), []

    def send():
        barrier.wait()
        try:
            outcomes.append(scan_services.scan_record(actor=world.alpha.actor(Role.COUNTER), area=area,
                                                      scan_uuid=scan_uuid, code=EAN).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == [ScanOutcome.ACCEPTED, ScanOutcome.DUPLICATE]
    assert CountScan.objects.count() == 1


def test_scans_are_refused_with_the_reason_unless_captured_offline_before_the_change(world, rack):
    r1, bins, bolt, nut, other = rack
    session, (area, spare) = _started(world, [r1, other])
    with pytest.raises(Conflict, match="is available: scans are closed there"):
        _scan(world, area)
    area = _claimed(world, area)
    with pytest.raises(Conflict, match="is not yours: scan its barcode to claim it"):
        _scan(world, area, role=Role.SUPERVISOR)
    with pytest.raises(InvalidInput, match="Z-9 is not in area"):
        _scan(world, area, location=other)
    _scan(world, area)
    before_submit = timezone.now() - timedelta(seconds=1)
    area = area_services.area_submit(actor=world.alpha.actor(Role.COUNTER), area=area)
    with pytest.raises(Conflict, match="is ready for approval: scans are closed there"):
        _scan(world, area)
    late = _scan(world, area, scanned_at=before_submit, device_id="phone-7")  # queued offline, synced now
    assert late.outcome == ScanOutcome.EXCEPTION
    assert (late.scan.exception.kind, late.scan.exception.status) == ("late", "open")
    assert selectors.area_counted(area) == {(bolt.pk, r1.pk, ""): Decimal(1)}  # waits for the supervisor
    session_services.session_cancel(actor=world.alpha.actor(), session=session, reason="Stop")
    with pytest.raises(Conflict, match="is cancelled"):
        _scan(world, area, scanned_at=before_submit)


def test_an_unknown_code_is_kept_as_an_exception_and_mapping_it_can_teach_the_barcode(world, rack):
    r1, bins, bolt, nut, other = rack
    _, (area,) = _started(world, [r1])
    area = _claimed(world, area)
    unknown = _scan(world, area, code="4006381333932", quantity="3")  # a misread check digit
    assert unknown.outcome == ScanOutcome.EXCEPTION
    exception = unknown.scan.exception
    assert exception.kind == "unknown_code" and "check digit" in exception.reason
    assert selectors.area_counted(area) == {}
    other_code = _scan(world, area, code="NUT-BOX-12").scan.exception
    mapped = scan_services.exception_map(actor=world.alpha.actor(Role.SUPERVISOR), exception=other_code, item=nut,
                                         add_barcode=True)
    assert (mapped.status, mapped.item) == ("mapped", nut)
    assert ItemBarcode.objects.filter(item=nut, code="NUT-BOX-12").exists()
    assert _scan(world, area, code="NUT-BOX-12").outcome == ScanOutcome.ACCEPTED  # found from now on
    scan_services.exception_dismiss(actor=world.alpha.actor(Role.SUPERVISOR), exception=exception,
                                    reason="Misread: scanned again")
    assert selectors.area_counted(area) == {(nut.pk, r1.pk, ""): Decimal(2)}
    with pytest.raises(Conflict, match="dismissed already"):
        scan_services.exception_dismiss(actor=world.alpha.actor(), exception=exception, reason="Again")


def test_undo_takes_back_the_last_scan_with_a_compensating_one(world, rack):
    r1, bins, bolt, nut, other = rack
    _, (area,) = _started(world, [r1])
    area = _claimed(world, area)
    counter = world.alpha.actor(Role.COUNTER)
    with pytest.raises(Conflict, match="Nothing of yours to undo"):
        scan_services.scan_undo(actor=counter, area=area, scan_uuid=uuid.uuid4())
    _scan(world, area, quantity="4")
    _scan(world, area, quantity="40")  # a slip of the thumb
    undo_uuid = uuid.uuid4()
    undo = scan_services.scan_undo(actor=counter, area=area, scan_uuid=undo_uuid)
    assert (undo.scan.kind, undo.scan.quantity) == ("undo", Decimal("-40"))
    assert scan_services.scan_undo(actor=counter, area=area, scan_uuid=undo_uuid).outcome == ScanOutcome.DUPLICATE
    assert selectors.area_counted(area) == {(bolt.pk, r1.pk, ""): Decimal(4)}
    unknown = _scan(world, area, code="WHAT-IS-THIS").scan
    scan_services.scan_undo(actor=counter, area=area, scan_uuid=uuid.uuid4())
    assert CountException.objects.get(scan=unknown).status == "dismissed"  # undone with its scan
    assert selectors.area_counted(area) == {(bolt.pk, r1.pk, ""): Decimal(4)}
    assert CountScan.objects.count() == 5  # nothing deleted


def test_a_lot_tracked_item_needs_its_lot(world, rack):
    admin = world.alpha.actor()
    item_create(actor=admin, sku="MILK", name="Milk", tracks_lots=True, barcodes=["96385074"])
    _, (area,) = _started(world, [rack[0]])
    area = _claimed(world, area)
    with pytest.raises(InvalidInput, match="MILK is lot-tracked: give the lot"):
        _scan(world, area, code="96385074")
    assert _scan(world, area, code="96385074", lot="L-1").outcome == ScanOutcome.ACCEPTED


# Review and recount ------------------------------------------------------------------------------------------

def test_rejected_areas_are_recounted_in_a_new_round_and_approval_is_announced(world, rack, monkeypatch):
    r1, bins, bolt, nut, other = rack
    published = []
    monkeypatch.setattr(catalogue, "_listeners", [*catalogue._listeners,
                                                  lambda *, organization, name, payload: published.append(
                                                      (organization, name, payload))])
    _, (area,) = _started(world, [r1])
    area = _claimed(world, area)
    _scan(world, area, quantity="9")
    counter, supervisor = world.alpha.actor(Role.COUNTER), world.alpha.actor(Role.SUPERVISOR)
    with pytest.raises(Conflict, match="is counting, not ready for approval"):
        area_services.area_approve(actor=supervisor, area=area)
    area = area_services.area_submit(actor=counter, area=area)
    with pytest.raises(InvalidInput, match="Give a reason"):
        area_services.area_reject(actor=supervisor, area=area, reason="")
    area = area_services.area_reject(actor=supervisor, area=area, reason="Bolts behind the boxes")
    assert (area.status, area.reject_reason) == ("rejected", "Bolts behind the boxes")
    area = _claimed(world, area)  # the counter takes it back for the recount
    assert (area.status, area.round) == ("assigned", 2)
    _scan(world, area, quantity="14")
    assert selectors.area_counted(area) == {(bolt.pk, r1.pk, ""): Decimal(14)}  # round 1's 9 stays, apart
    assert CountScan.objects.filter(area=area, round=1).count() == 1
    area = area_services.area_submit(actor=counter, area=area)
    area = area_services.area_approve(actor=supervisor, area=area)
    assert (area.status, area.approved_by) == ("approved", supervisor.user)
    assert published == [(world.alpha.organization, "count_area.approved", {
        "count_id": area.session_id, "area_id": area.pk, "barcode": area.barcode, "location": "R1", "round": 2,
        "approved_by": "supervisor@alpha.test"})]
    with pytest.raises(Conflict, match="is approved: nothing to count there now"):
        _claimed(world, area)


def test_a_supervisor_assigns_releases_and_reassigns(world, rack):
    r1, bins, bolt, nut, other = rack
    _, (area,) = _started(world, [r1])
    supervisor = world.alpha.actor(Role.SUPERVISOR)
    with pytest.raises(InvalidInput, match="a viewer, who does not count"):
        area_services.area_assign(actor=supervisor, area=area, holder=world.alpha.members[Role.VIEWER])
    area = area_services.area_assign(actor=supervisor, area=area, holder=world.alpha.members[Role.COUNTER])
    _scan(world, area)
    area = area_services.area_release(actor=supervisor, area=area)
    assert (area.status, area.holder) == ("available", None)
    area = _claimed(world, area, Role.SUPERVISOR)
    assert area.round == 2  # a new counter recounts from nothing
    assert selectors.area_counted(area) == {}


def test_in_a_team_count_everyone_scans_into_the_area_and_the_counts_add_up(world, rack):
    r1, bins, bolt, nut, other = rack
    _, (area,) = _started(world, [r1], mode="team")
    area = _claimed(world, area)
    area = _claimed(world, area, Role.SUPERVISOR)  # joins the team
    _scan(world, area, quantity="6")
    _scan(world, area, quantity="8", role=Role.SUPERVISOR)
    assert selectors.area_counted(area) == {(bolt.pk, r1.pk, ""): Decimal(14)}
    assert selectors.my_area_total(area, world.alpha.actor(Role.SUPERVISOR)) == Decimal(8)


# Variances, tolerances, movements during the count, completion ------------------------------------------------

def _counted_and_submitted(world, area, scans):
    area = _claimed(world, area)
    for code, quantity, location in scans:
        _scan(world, area, code=code, quantity=quantity, location=location)
    return area_services.area_submit(actor=world.alpha.actor(Role.COUNTER), area=area)


def test_variances_per_line_with_value_percent_missing_and_unexpected(world, rack):
    r1, bins, bolt, nut, other = rack
    stray = item_create(actor=world.alpha.actor(), sku="STRAY", name="Stray", unit_cost="2")
    _, (area,) = _started(world, [r1])
    area = _counted_and_submitted(world, area, [("BOLT", "8", bins[0]), ("BOLT", "4", bins[1]),
                                                ("STRAY", "3", bins[1])])
    lines = {(line.item_id, line.location_id): line for line in selectors.area_variance(area)}
    short = lines[(bolt.pk, bins[0].pk)]
    assert (short.expected, short.counted, short.difference, short.value, short.percent, short.status) == (
        10, 8, -2, Decimal("-1.00"), Decimal("-20.0"), "short")
    assert lines[(bolt.pk, bins[1].pk)].status == "match"
    assert lines[(nut.pk, bins[1].pk)].status == "missing"
    unexpected = lines[(stray.pk, bins[1].pk)]
    assert (unexpected.status, unexpected.percent, unexpected.value) == ("unexpected", None, Decimal("6.00"))


def test_tolerances_send_an_area_back_without_showing_numbers_and_can_approve_it_by_itself(world, rack):
    r1, bins, bolt, nut, other = rack
    session_services.count_settings_update(actor=world.alpha.actor(), tolerance_percent="10", tolerance_value="5",
                                           auto_approve=True)
    _, (area,) = _started(world, [r1])
    area = _counted_and_submitted(world, area, [("BOLT", "8", bins[0]), ("BOLT", "4", bins[1]),
                                                ("NUT", "2", bins[1])])
    assert (area.status, area.reject_reason) == ("rejected", "Outside the tolerance: count BOLT at R1-1 again")
    area = _counted_and_submitted(world, area, [("BOLT", "10", bins[0]), ("BOLT", "4", bins[1]),
                                                ("NUT", "2", bins[1])])
    assert (area.status, area.round, area.approved_by) == ("approved", 2, None)  # within: approved by itself


def test_stock_moved_during_the_count_needs_a_choice_and_is_never_lost_or_doubled(world, rack):
    r1, bins, bolt, nut, other = rack
    session, (area,) = _started(world, [r1])
    # Counted before 5 bolts arrived in R1-1, and after 1 nut left R1-2.
    area = _counted_and_submitted(world, area, [("BOLT", "10", bins[0]), ("BOLT", "4", bins[1]),
                                                ("NUT", "1", bins[1])])
    stock_receive(actor=world.alpha.actor(), item=bolt, location=bins[0], quantity_received="5")
    stock_issue(actor=world.alpha.actor(), item=nut, location=bins[1], quantity_issued="1")
    supervisor = world.alpha.actor(Role.SUPERVISOR)
    with pytest.raises(Conflict, match="Stock moved during the count: BOLT at R1-1, NUT at R1-2"):
        area_services.area_approve(actor=supervisor, area=area)
    area = area_services.area_approve(actor=supervisor, area=area, choices={
        (bolt.pk, bins[0].pk, ""): "plus_movements",  # counted before the delivery: 10 + 5
        (nut.pk, bins[1].pk, ""): "as_counted"})  # counted after the issue: 1 is what lies there
    completion.session_complete(actor=supervisor, session=session)
    on_hand = {(row.item.sku, row.location.code): row.quantity for row in
               OnHand.objects.select_related("item", "location")}
    assert on_hand == {("BOLT", "R1-1"): 15, ("BOLT", "R1-2"): 4, ("NUT", "R1-2"): 1}
    assert ledger_drift() == []


def test_completion_posts_exactly_the_corrections_and_freezes_the_report(world, rack, monkeypatch):
    r1, bins, bolt, nut, other = rack
    published = []
    monkeypatch.setattr(catalogue, "_listeners", [*catalogue._listeners,
                                                  lambda *, organization, name, payload: published.append(name)])
    session, (area, empty) = _started(world, [r1, other])
    supervisor = world.alpha.actor(Role.SUPERVISOR)
    area = _counted_and_submitted(world, area, [("BOLT", "8", bins[0]), ("BOLT", "4", bins[1])])
    with pytest.raises(Conflict, match="2 areas are not approved yet"):
        completion.session_complete(actor=supervisor, session=session)
    area_services.area_approve(actor=supervisor, area=area)
    empty = _counted_and_submitted(world, empty, [])
    area_services.area_approve(actor=supervisor, area=empty)
    movements = StockMovement.objects.count()
    completed = completion.session_complete(actor=supervisor, session=session)
    assert completed.status == "completed"
    corrections = {(m.item.sku, m.location.code, m.quantity) for m in StockMovement.objects.filter(
        kind="count_correction").select_related("item", "location")}
    assert corrections == {("BOLT", "R1-1", Decimal(-2)), ("NUT", "R1-2", Decimal(-2))}
    assert StockMovement.objects.count() == movements + 2
    assert ledger_drift() == []
    assert set(StockAlert.objects.filter(kind="discrepancy").values_list("item__sku", flat=True)) == {"BOLT", "NUT"}
    assert published[-1] == "count.completed"
    rows = list(selectors.report_rows(completed))
    assert [(r[1], r[2], r[5], r[6], r[9], r[12]) for r in rows] == [
        ("R1-1", "BOLT", 10, 8, -2, "counter@alpha.test"), ("R1-2", "BOLT", 4, 4, 0, "counter@alpha.test"),
        ("R1-2", "NUT", 2, 0, -2, "counter@alpha.test")]
    with pytest.raises(Conflict, match="only a count in progress is completed"):
        completion.session_complete(actor=supervisor, session=completed)
    assert StockMovement.objects.count() == movements + 2  # not twice


def test_completion_waits_for_open_exceptions(world, rack):
    session, (area,) = _started(world, [rack[0]])
    area = _counted_and_submitted(world, area, [("MYSTERY-1", "1", None)])
    area_services.area_approve(actor=world.alpha.actor(), area=area)
    with pytest.raises(Conflict, match="1 exception is open: map or dismiss them first"):
        completion.session_complete(actor=world.alpha.actor(), session=session)
    assert CountSession.objects.get().status == "in_progress"


def test_supervision_sees_everyone_on_the_count_and_personal_stats_stay_in_the_count(world, rack):
    r1, bins, bolt, nut, other = rack
    old, (old_area,) = _started(world, [other])
    old_area = _claimed(world, old_area)
    _scan(world, old_area, quantity="3")
    area_services.area_submit(actor=world.alpha.actor(Role.COUNTER), area=old_area)
    area_services.area_approve(actor=world.alpha.actor(), area=old_area)
    completion.session_complete(actor=world.alpha.actor(), session=old)

    session, (area,) = _started(world, [r1])
    area = _claimed(world, area)
    _scan(world, area)
    _scan(world, area)
    scanners = {row["email"]: row for row in selectors.scanner_status(session)}
    assert set(scanners) == {"counter@alpha.test", "supervisor@alpha.test"}  # the site's counting people
    assert (scanners["counter@alpha.test"]["areas"], scanners["counter@alpha.test"]["scans"]) == ([area.barcode], 2)
    assert scanners["supervisor@alpha.test"]["scans"] == 0 and scanners["supervisor@alpha.test"]["idle_seconds"] is None
    mine = selectors.personal_stats(session, world.alpha.actor(Role.COUNTER))
    assert mine == {"scans": 2, "undos": 0, "areas_held": [area.barcode], "areas_submitted": 0}  # not the old count's
    assert selectors.session_progress(session)["scans_last_hour"] == 2


def test_assigning_an_area_to_the_counter_who_holds_it_changes_nothing(world, rack):
    _, (area,) = _started(world, [rack[0]])
    supervisor = world.alpha.actor(Role.SUPERVISOR)
    area = area_services.area_assign(actor=supervisor, area=area, holder=world.alpha.members[Role.COUNTER])
    _scan(world, area)
    again = area_services.area_assign(actor=supervisor, area=area, holder=world.alpha.members[Role.COUNTER])
    assert (again.status, again.round) == ("counting", 1)  # not a new round that sets the scan aside
    assert selectors.area_counted(again) != {}
