"""Counts against a model: random sequences of scans, undos, retries, reviews, hand-overs and exception decisions on
one area, checked after every step against a plain in-memory model of what the area counts; and completion posting
exactly what was counted. Each example runs in a savepoint rolled back after it: one count is in progress per site,
and scans are append-only, so examples must not see each other's rows."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stocktrace.core.errors import Conflict
from stocktrace.counts import selectors
from stocktrace.counts.models import CountArea, CountException, CountResultLine, CountScan
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import completion
from stocktrace.counts.services import scans as scan_services
from stocktrace.counts.services import sessions as session_services
from stocktrace.counts.services.scans import ScanOutcome
from stocktrace.inventory.models import OnHand
from stocktrace.inventory.selectors import ledger_drift
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_receive
from stocktrace.tenancy.roles import Role

EAN = "4006381333931"
UNKNOWN = "MYSTERY-7"
COUNTERS = (Role.COUNTER, Role.SUPERVISOR)  # both count; the admin reviews
HELD = ("assigned", "counting")


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run an example's writes in a savepoint of the test's transaction and undo them afterwards."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


@pytest.fixture
def rack(world):
    """Rack R1 at alpha's first site with bin R1-1, and two items: BOLT (scanned by its EAN) and NUT (by SKU)."""
    admin = world.alpha.actor()
    site = world.alpha.sites[0]
    r1 = location_create(actor=admin, site=site, code="R1", kind="rack")
    bin_ = location_create(actor=admin, site=site, code="R1-1", parent=r1)
    bolt = item_create(actor=admin, sku="BOLT", name="Bolt", barcodes=[EAN])
    nut = item_create(actor=admin, sku="NUT", name="Nut")
    return r1, bin_, bolt, nut


# The model -----------------------------------------------------------------------------------------------------

@dataclass
class Scan:
    """A scan (or undo) as the model sees it: what it counts as, and its exception's state if it has one."""

    uuid: uuid.UUID
    pk: int
    round: int
    kind: str
    counter: int
    item: int | None
    location: int
    quantity: Decimal
    exception: str | None = None  # open, mapped, dismissed
    mapped_to: int | None = None
    undone: bool = False

    def counts_as(self) -> int | None:
        if self.exception is None:
            return self.item  # None for the undo of a scan that counted nothing
        return self.mapped_to if self.exception == "mapped" else None


@dataclass
class Model:
    status: str
    round: int
    holder: int | None
    scans: list[Scan]

    def counted(self) -> dict[tuple[int, int, str], Decimal]:
        totals: dict[tuple[int, int, str], Decimal] = {}
        for scan in self.scans:
            if scan.round == self.round and (item := scan.counts_as()) is not None:
                key = (item, scan.location, "")
                totals[key] = totals.get(key, Decimal(0)) + scan.quantity
        return totals

    def hand_to(self, holder: int) -> None:
        """A claim or an assignment: a new round when the current one has any scan."""
        if any(scan.round == self.round for scan in self.scans):
            self.round += 1
        self.status, self.holder = "assigned", holder

    def exceptions(self) -> list[Scan]:
        return [scan for scan in self.scans if scan.exception is not None]


# Steps: an operation and its arguments (which each operation reads as it needs them).
QUANTITIES = st.decimals(min_value=Decimal(1), max_value=Decimal(5), places=3)
STEPS = st.lists(st.tuples(
    st.sampled_from(["scan", "scan", "scan", "scan", "undo", "undo", "retry", "submit", "reject", "claim",
                     "release", "assign", "map", "map", "dismiss"]),
    st.integers(0, 2), st.integers(0, 1), QUANTITIES, st.integers(0, 50), st.booleans()), min_size=5, max_size=30)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(STEPS)
def test_an_area_counts_what_the_model_says_after_every_step(world, rack, steps):
    r1, bin_, bolt, nut = rack
    admin = world.alpha.actor()
    members = [world.alpha.members[role] for role in COUNTERS]
    actors = {member.pk: world.alpha.actor(role) for member, role in zip(members, COUNTERS, strict=True)}
    codes = [(EAN, bolt.pk), ("NUT", nut.pk), (UNKNOWN, None)]
    items = {bolt.pk: bolt, nut.pk: nut}
    locations = [r1, bin_]
    with rolled_back():
        session = session_services.session_plan(actor=admin, site=world.alpha.sites[0], name="Model", kind="cycle")
        (area,) = session_services.areas_add(actor=admin, session=session, locations=[r1])
        session_services.session_start(actor=admin, session=session)
        area = area_services.area_assign(actor=admin, area=area, holder=members[0])
        model = Model(status="assigned", round=1, holder=members[0].pk, scans=[])
        rows: list[dict] = []
        for number, (operation, a, b, amount, pick, flag) in enumerate(steps):
            # Whoever holds the area counts (the first counter when nobody does).
            me = model.holder or members[0].pk
            changed = _step(model, operation, a, b, amount, pick, flag, admin=admin, me=me, actors=actors,
                            members=members, area=area, codes=codes, locations=locations, items=items)
            # What the runs reached: pytest --hypothesis-show-statistics
            event(f"{operation}{' (wrote a scan)' if changed else ''} -> {model.status}, round {model.round}")
            where = f"step {number} {operation}: {steps[:number + 1]}"
            area.refresh_from_db()
            assert (area.status, area.round, area.holder_id) == (model.status, model.round, model.holder), where
            assert selectors.area_counted(area) == model.counted(), where
            now = list(CountScan.objects.filter(session=session).order_by("pk").values())
            # Append-only: nothing deleted or changed, one row more at most (none for a retry or a refusal).
            assert now[:len(rows)] == rows, where
            assert len(now) == len(rows) + (1 if changed else 0) == len(model.scans), where
            assert [(row["uuid"], row["round"], row["kind"], row["counter_id"], row["item_id"], row["location_id"],
                     row["quantity"]) for row in now] == [
                (scan.uuid, scan.round, scan.kind, scan.counter, scan.item, scan.location, scan.quantity)
                for scan in model.scans], where
            exceptions = {e.scan_id: (e.status, e.item_id) for e in CountException.objects.filter(session=session)}
            assert exceptions == {scan.pk: (scan.exception, scan.mapped_to) for scan in model.exceptions()}, where
            rows = now
        event(f"ended in round {model.round} with exceptions {sorted(s.exception or '' for s in model.exceptions())}")


def _step(model: Model, operation, a, b, amount, pick, flag, *, admin, me, actors, members, area, codes, locations,
          items) -> bool:
    """Do the operation through the services and to the model; True when it should have written a scan."""
    counter = actors[me]
    scannable = model.status in HELD and model.holder == me
    if operation == "scan":
        code, item = codes[a]
        location = locations[b]
        scan_uuid = uuid.uuid4()
        if not scannable:
            with pytest.raises(Conflict):
                scan_services.scan_record(actor=counter, area=area, scan_uuid=scan_uuid, code=code, quantity=amount,
                                          location=location)
            return False
        result = scan_services.scan_record(actor=counter, area=area, scan_uuid=scan_uuid, code=code,
                                           quantity=amount, location=location)
        assert result.outcome == (ScanOutcome.ACCEPTED if item else ScanOutcome.EXCEPTION)
        model.scans.append(Scan(uuid=scan_uuid, pk=result.scan.pk, round=model.round, kind="scan", counter=me,
                                item=item, location=location.pk, quantity=amount,
                                exception=None if item else "open"))
        model.status = "counting"
        return True
    if operation == "undo":
        scan_uuid = uuid.uuid4()
        targets = [scan for scan in model.scans if scan.round == model.round and scan.counter == me
                   and scan.kind == "scan" and not scan.undone]
        if not scannable or not targets:
            with pytest.raises(Conflict):
                scan_services.scan_undo(actor=counter, area=area, scan_uuid=scan_uuid)
            return False
        result = scan_services.scan_undo(actor=counter, area=area, scan_uuid=scan_uuid)
        target = targets[-1]
        assert (result.outcome, result.scan.undoes_id) == (ScanOutcome.ACCEPTED, target.pk)
        target.undone = True
        if target.exception == "open":
            target.exception = "dismissed"  # undone with its scan
        model.scans.append(Scan(uuid=scan_uuid, pk=result.scan.pk, round=model.round, kind="undo", counter=me,
                                item=target.counts_as(), location=target.location, quantity=-target.quantity))
        return True
    if operation == "retry":
        if not model.scans:
            return False
        first = model.scans[-1 - pick % len(model.scans)]  # the latest most often
        # The same uuid again, whatever else comes with it, as a scan or as an undo, from whoever sent it first.
        if flag:
            again = scan_services.scan_undo(actor=actors[first.counter], area=area, scan_uuid=first.uuid)
        else:
            code, _ = codes[a]
            again = scan_services.scan_record(actor=actors[first.counter], area=area, scan_uuid=first.uuid,
                                              code=code, quantity=amount + 1, location=locations[b])
        assert (again.outcome, again.scan.pk, again.scan.quantity, again.scan.kind) == (
            ScanOutcome.DUPLICATE, first.pk, first.quantity, first.kind)
        return False
    if operation == "submit":
        if not scannable:
            with pytest.raises(Conflict):
                area_services.area_submit(actor=counter, area=area)
            return False
        assert area_services.area_submit(actor=counter, area=area).status == "ready_for_approval"
        model.status = "ready_for_approval"
        return False
    if operation == "reject":
        if model.status != "ready_for_approval":
            with pytest.raises(Conflict):
                area_services.area_reject(actor=admin, area=area, reason="Recount")
            return False
        area_services.area_reject(actor=admin, area=area, reason="Recount")
        model.status = "rejected"
        return False
    if operation == "claim":
        who = members[b].pk
        if model.status in HELD and model.holder == who:
            pass  # one's own area again: nothing changes
        elif model.status == "available" or (model.status == "rejected" and model.holder == who):
            model.hand_to(who)  # a recount after a rejection, or a new counter: a new round if this one has scans
        else:
            with pytest.raises(Conflict):
                area_services.area_claim(actor=actors[who], area=area)
            return False
        area_services.area_claim(actor=actors[who], area=area)
        return False
    if operation == "release":
        if model.status not in (*HELD, "rejected"):
            with pytest.raises(Conflict):
                area_services.area_release(actor=admin, area=area)
            return False
        area_services.area_release(actor=admin, area=area)
        model.status, model.holder = "available", None
        return False
    if operation == "assign":
        # To another counter than the one holding it (to either when nobody does).
        other = [m for m in members if m.pk != model.holder][b % (1 if model.holder else 2)]
        if model.status in ("ready_for_approval", "approved"):
            with pytest.raises(Conflict):
                area_services.area_assign(actor=admin, area=area, holder=other)
            return False
        area_services.area_assign(actor=admin, area=area, holder=other)
        model.hand_to(other.pk)
        return False
    if operation in ("map", "dismiss"):
        if not (exceptions := model.exceptions()):
            return False
        scan = exceptions[-1 - pick % len(exceptions)]  # the latest most often
        exception = CountException.objects.get(scan_id=scan.pk)
        item = codes[b][1]

        def decide():
            if operation == "map":
                return scan_services.exception_map(actor=admin, exception=exception, item=items[item])
            return scan_services.exception_dismiss(actor=admin, exception=exception, reason="Not ours")

        if scan.exception != "open":
            with pytest.raises(Conflict, match="already"):
                decide()
            return False
        decide()
        scan.exception = "mapped" if operation == "map" else "dismissed"
        scan.mapped_to = item if operation == "map" else None
        return False
    raise AssertionError(operation)


# Completion ----------------------------------------------------------------------------------------------------

@pytest.fixture
def shelves(world):
    """Rack W with bins W-1..W-3 and items A, B, C, nothing in stock."""
    admin = world.alpha.actor()
    site = world.alpha.sites[0]
    rack_ = location_create(actor=admin, site=site, code="W", kind="rack")
    bins = [location_create(actor=admin, site=site, code=f"W-{n}", parent=rack_) for n in (1, 2, 3)]
    items = [item_create(actor=admin, sku=sku, name=sku, unit_cost="1.5") for sku in "ABC"]
    return rack_, bins, items


HELD_AMOUNTS = st.decimals(min_value=Decimal(0), max_value=Decimal(40), places=3)
SCANNED = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(20), places=3)
# Per bin × item: what the ledger holds when the count starts, and its scans (none: not counted, so zero).
LINES = st.lists(st.tuples(HELD_AMOUNTS, st.lists(SCANNED, max_size=2)), min_size=9, max_size=9)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LINES)
def test_completion_posts_exactly_what_was_counted(world, shelves, lines):
    rack_, bins, items = shelves
    admin, counter = world.alpha.actor(), world.alpha.actor(Role.COUNTER)
    grid = [(location, item) for location in bins for item in items]
    with rolled_back():
        for (location, item), (held, _) in zip(grid, lines, strict=True):
            if held:
                stock_receive(actor=admin, item=item, location=location, quantity_received=held)
        session = session_services.session_plan(actor=admin, site=world.alpha.sites[0], name="W", kind="cycle")
        (area,) = session_services.areas_add(actor=admin, session=session, locations=[rack_])
        session_services.session_start(actor=admin, session=session)
        area = area_services.area_assign(actor=admin, area=area, holder=world.alpha.members[Role.COUNTER])
        for (location, item), (_, scans) in zip(grid, lines, strict=True):
            for quantity in scans:
                scan_services.scan_record(actor=counter, area=area, scan_uuid=uuid.uuid4(), code=item.sku,
                                          quantity=quantity, location=location)
        area = area_services.area_submit(actor=counter, area=area)
        area_services.area_approve(actor=admin, area=area)
        completion.session_complete(actor=admin, session=session)
        for (location, item), (held, scans) in zip(grid, lines, strict=True):
            on_hand = OnHand.objects.filter(item=item, location=location, lot="").values_list(
                "quantity", flat=True).first() or Decimal(0)
            assert on_hand == sum(scans, Decimal(0)), (location.code, item.sku, held, scans)
        posted = {(line.location_code, line.sku): (line.expected, line.counted, line.posted)
                  for line in CountResultLine.objects.filter(session=session)}
        assert posted == {(location.code, item.sku): (held, sum(scans, Decimal(0)), sum(scans, Decimal(0)) - held)
                          for (location, item), (held, scans) in zip(grid, lines, strict=True) if held or scans}
        assert ledger_drift() == []
        assert CountArea.objects.get(pk=area.pk).is_open is False
