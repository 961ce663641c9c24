"""Count areas through their states: available → assigned → counting → ready_for_approval → approved, or
rejected (with a reason) and assigned again for a recount in a new round; the earlier rounds' scans stay."""

from django.db import transaction
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.counts.models import AreaStatus, CountArea, CountDrift, CountMode, CountScan, CountSettings, DriftChoice
from stocktrace.counts.permissions import COUNTS_MANAGE, COUNTS_SCAN
from stocktrace.counts.rules import (
    area_holder_require,
    reason_check,
    session_running_require,
    site_access_require,
)
from stocktrace.counts.selectors import VarianceLine, area_variance
from stocktrace.counts.services.sessions import count_settings
from stocktrace.events.catalogue import event_publish
from stocktrace.inventory.models import Item, Location
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership
from stocktrace.tenancy.roles import role_has

HELD = (AreaStatus.ASSIGNED, AreaStatus.COUNTING)
Key = tuple[int, int, str]  # item, location, lot


def _locked(area: CountArea) -> CountArea:
    return CountArea.objects.select_for_update().select_related("session", "session__site", "location").get(
        pk=area.pk)


def _move(area: CountArea, status: str, **fields: object) -> None:
    area.status, area.changed_at = status, timezone.now()
    for name, value in fields.items():
        setattr(area, name, value)
    area.save()


def _record(actor: Actor, action: str, area: CountArea, before: str, **extra: object) -> None:
    audit_record(actor=actor, action=action, obj=area,
                 before={"status": before}, after={"status": area.status, "round": area.round, **extra})


def _hand_to(area: CountArea, holder: Membership) -> None:
    """Give the area to a counter; a recount (or a counter taking over) starts a new round."""
    fresh = not CountScan.objects.filter(area=area, round=area.round).exists()
    _move(area, AreaStatus.ASSIGNED, holder=holder, round=area.round if fresh else area.round + 1,
          reject_reason="" if area.status == AreaStatus.REJECTED else area.reject_reason)


@transaction.atomic
def area_claim(*, actor: Actor, area: CountArea) -> CountArea:
    """A counter takes an area by scanning its barcode: a free one, one rejected back to them, or (in a
    team count) one a teammate holds. Claiming one's own area again changes nothing."""
    actor.require(COUNTS_SCAN)
    area = _locked(area)
    session_running_require(area.session)
    site_access_require(actor, area.session.site_id, area.session.site.code)
    me = actor.membership
    if me is None:
        raise Conflict("Only a person can claim an area")
    before = area.status
    if area.status in HELD and (area.holder_id == me.pk or area.session.mode == CountMode.TEAM):
        return area
    if area.status == AreaStatus.AVAILABLE or (area.status == AreaStatus.REJECTED and area.holder_id == me.pk):
        _hand_to(area, me)
        _record(actor, "count_area.claim", area, before)
        return area
    if area.status in HELD or area.status == AreaStatus.REJECTED:
        raise Conflict(f"Area {area.barcode} is held by {area.holder.user.email if area.holder else 'someone'}: "
                       "ask a supervisor to reassign it")
    raise Conflict(f"Area {area.barcode} is {area.status.replace('_', ' ')}: nothing to count there now")


@transaction.atomic
def area_assign(*, actor: Actor, area: CountArea, holder: Membership) -> CountArea:
    """A supervisor gives an area to a counter (or takes it from one and gives it to another)."""
    actor.require(COUNTS_MANAGE)
    area = _locked(area)
    session_running_require(area.session)
    site_access_require(actor, area.session.site_id, area.session.site.code)
    if holder.organization_id != actor.organization.pk or not holder.is_active:
        raise InvalidInput("No such active member", field="membership_id")
    if not role_has(holder.role, COUNTS_SCAN):
        raise InvalidInput(f"{holder.user.email} is a {holder.role}, who does not count", field="membership_id")
    if holder.role != "admin" and not holder.site_assignments.filter(site_id=area.session.site_id).exists():
        raise InvalidInput(f"{holder.user.email} is not assigned to site {area.session.site.code}",
                           field="membership_id")
    if area.status in (AreaStatus.READY_FOR_APPROVAL, AreaStatus.APPROVED):
        raise Conflict(f"Area {area.barcode} is {area.status.replace('_', ' ')}: reject it first to recount it")
    if area.status in HELD and area.holder_id == holder.pk:
        return area  # a second click: the counter keeps counting in the same round
    before = area.status
    _hand_to(area, holder)
    _record(actor, "count_area.assign", area, before, holder=holder.user.email)
    return area


@transaction.atomic
def area_release(*, actor: Actor, area: CountArea) -> CountArea:
    """A supervisor frees an area (its counter went home); whoever takes it next recounts in a new round."""
    actor.require(COUNTS_MANAGE)
    area = _locked(area)
    session_running_require(area.session)
    if area.status not in (*HELD, AreaStatus.REJECTED):
        raise Conflict(f"Area {area.barcode} is {area.status.replace('_', ' ')}: nobody holds it")
    before = area.status
    _move(area, AreaStatus.AVAILABLE, holder=None)
    _record(actor, "count_area.release", area, before)
    return area


def outside_tolerance(lines: list[VarianceLine], settings: CountSettings) -> list[VarianceLine]:
    """The lines off by more than the organization's percent or value tolerance (none when neither is set)."""
    percent, value = settings.tolerance_percent, settings.tolerance_value
    return [line for line in lines if line.difference and (
        (percent is not None and (line.percent is None or abs(line.percent) > percent))
        or (value is not None and abs(line.value) > value))]


def _names(lines: list[VarianceLine]) -> str:
    """"BOLT at R1-1, NUT at R1-2": what to recount, without the quantities a blind counter must not see."""
    skus = dict(Item.objects.filter(pk__in={line.item_id for line in lines}).values_list("pk", "sku"))
    codes = dict(Location.objects.filter(pk__in={line.location_id for line in lines}).values_list("pk", "code"))
    names = [f"{skus[line.item_id]}{f' lot {line.lot}' if line.lot else ''} at {codes[line.location_id]}"
             for line in lines[:5]]
    return ", ".join(names) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


@transaction.atomic
def area_submit(*, actor: Actor, area: CountArea) -> CountArea:
    """The counter is done: the area waits for a supervisor. An empty area may be submitted (nothing there).
    With tolerances set, an area off by more is sent back for a recount at once; with auto-approval on, one
    within them (where nothing moved during the count) is approved."""
    actor.require(COUNTS_SCAN)
    area = _locked(area)
    session_running_require(area.session)
    if area.status not in HELD:
        raise Conflict(f"Area {area.barcode} is {area.status.replace('_', ' ')}: only an area being counted "
                       "is submitted")
    if area.session.mode != CountMode.TEAM:
        area_holder_require(area, actor)
    before = area.status
    _move(area, AreaStatus.READY_FOR_APPROVAL)
    _record(actor, "count_area.submit", area, before)
    settings = count_settings(actor.organization)
    lines = area_variance(area)
    if off := outside_tolerance(lines, settings):
        _move(area, AreaStatus.REJECTED, reject_reason=f"Outside the tolerance: count {_names(off)} again"[:200])
        _record(actor, "count_area.reject", area, AreaStatus.READY_FOR_APPROVAL, reason=area.reject_reason,
                automatic=True)
    elif settings.auto_approve and not any(line.moved for line in lines):
        _approve(actor, area, lines, {}, automatic=True)
    return area


def _review_require(actor: Actor, area: CountArea) -> None:
    actor.require(COUNTS_MANAGE)
    session_running_require(area.session)
    site_access_require(actor, area.session.site_id, area.session.site.code)
    if area.status != AreaStatus.READY_FOR_APPROVAL:
        raise Conflict(f"Area {area.barcode} is {area.status.replace('_', ' ')}, not ready for approval")


def _approve(actor: Actor, area: CountArea, lines: list[VarianceLine], choices: dict[Key, str], *,
             automatic: bool = False) -> None:
    moved = [line for line in lines if line.moved]
    undecided = [line for line in moved if (line.item_id, line.location_id, line.lot) not in choices]
    if undecided:
        raise Conflict(f"Stock moved during the count: {_names(undecided)}. For each, choose whether the count "
                       f"is what lies there now ({DriftChoice.AS_COUNTED}) or what lay there when the count started "
                       f"({DriftChoice.PLUS_MOVEMENTS})", field="movements")
    CountDrift.objects.filter(area=area).delete()  # an earlier round's choices, if any
    CountDrift.objects.bulk_create([CountDrift(
        organization_id=area.organization_id, session_id=area.session_id, area=area, item_id=line.item_id,
        location_id=line.location_id, lot=line.lot, moved=line.moved,
        choice=choices[(line.item_id, line.location_id, line.lot)]) for line in moved])
    before = area.status
    approver = None if automatic else actor.user  # within the tolerances: nobody had to look
    _move(area, AreaStatus.APPROVED, approved_by=approver, approved_at=timezone.now())
    _record(actor, "count_area.approve", area, before, **({"automatic": True} if automatic else {}))
    event_publish(organization=actor.organization, name="count_area.approved", payload={
        "count_id": area.session_id, "area_id": area.pk, "barcode": area.barcode, "location": area.location.code,
        "round": area.round, "approved_by": approver.email if approver else None})


@transaction.atomic
def area_approve(*, actor: Actor, area: CountArea, choices: dict[Key, str] | None = None) -> CountArea:
    """Approve the area's count. Lines whose stock moved in the ledger during the count need a choice each
    (`choices`: (item, location, lot) → as_counted or plus_movements): never silently lost or doubled."""
    area = _locked(area)
    _review_require(actor, area)
    choices = choices or {}
    if bad := [choice for choice in choices.values() if choice not in DriftChoice.values]:
        raise InvalidInput(f"Unknown choice {bad[0]!r}: {', '.join(DriftChoice.values)}", field="movements")
    _approve(actor, area, area_variance(area), choices)
    return area


@transaction.atomic
def area_reject(*, actor: Actor, area: CountArea, reason: str) -> CountArea:
    """Back for a recount, with the reason; the counter who held it (or whoever is assigned) counts it again."""
    area = _locked(area)
    _review_require(actor, area)
    before = area.status
    _move(area, AreaStatus.REJECTED, reject_reason=reason_check(reason))
    _record(actor, "count_area.reject", area, before, reason=area.reject_reason)
    return area
