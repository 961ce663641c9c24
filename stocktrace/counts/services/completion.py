"""Completing a count: every area approved and every exception resolved, the corrections go to the ledger
through inventory's `stock_count_correct` (which raises the discrepancy alerts), and the report is frozen —
all in one transaction, so a count is never half applied."""

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.core.errors import Conflict
from stocktrace.counts.models import (
    AreaStatus,
    CountArea,
    CountDrift,
    CountException,
    CountResultLine,
    CountScan,
    CountSession,
    DriftChoice,
    ExceptionStatus,
    SessionStatus,
)
from stocktrace.counts.permissions import COUNTS_MANAGE
from stocktrace.counts.rules import site_access_require
from stocktrace.counts.selectors import area_variance
from stocktrace.events.catalogue import event_publish
from stocktrace.inventory.models import Item, Location
from stocktrace.inventory.permissions import STOCK_ADJUST
from stocktrace.inventory.services.ledger import Counted, stock_count_correct_bulk
from stocktrace.tenancy.actor import Actor


def _ready_require(session: CountSession, areas: list[CountArea]) -> None:
    waiting = [area for area in areas if area.status != AreaStatus.APPROVED]
    if waiting:
        shown = ", ".join(f"{a.barcode} ({a.status.replace('_', ' ')})" for a in waiting[:5])
        raise Conflict(f"{len(waiting)} area{'s are' if len(waiting) > 1 else ' is'} not approved yet: {shown}"
                       f"{'…' if len(waiting) > 5 else ''}")
    open_exceptions = CountException.objects.filter(session=session, status=ExceptionStatus.OPEN).count()
    if open_exceptions:
        raise Conflict(f"{open_exceptions} exception{'s are' if open_exceptions > 1 else ' is'} open: map or "
                       "dismiss them first")


def _counters(session: CountSession) -> dict[int, str]:
    """Area → the e-mails of those who counted its final round."""
    emails: dict[int, set[str]] = defaultdict(set)
    for area_id, email in (CountScan.objects.filter(session=session, round=F("area__round"))
                           .values_list("area_id", "counter__user__email").distinct()):
        emails[area_id].add(email)
    return {area_id: ", ".join(sorted(found))[:500] for area_id, found in emails.items()}


@transaction.atomic
def session_complete(*, actor: Actor, session: CountSession) -> CountSession:
    actor.require(COUNTS_MANAGE)
    actor.require(STOCK_ADJUST)
    session = CountSession.objects.select_for_update().select_related("site").get(pk=session.pk)
    site_access_require(actor, session.site_id, session.site.code)
    if session.status != SessionStatus.IN_PROGRESS:
        raise Conflict(f"Count {session.name} is {session.status.replace('_', ' ')}: only a count in progress "
                       "is completed")
    areas = list(session.areas.select_related("location", "approved_by").order_by("barcode"))
    _ready_require(session, areas)
    choices = {(d.area_id, d.item_id, d.location_id, d.lot): d.choice
               for d in CountDrift.objects.filter(session=session)}
    counters = _counters(session)
    per_area = [(area, area_variance(area)) for area in areas]
    item_ids = {line.item_id for _, lines in per_area for line in lines}
    location_ids = {line.location_id for _, lines in per_area for line in lines}
    items = Item.objects.in_bulk(item_ids)
    locations = Location.objects.in_bulk(location_ids)
    reference = f"Count {session.pk}: {session.name}"[:100]
    targets = []
    for area, lines in per_area:
        for line in lines:
            choice = choices.get((area.pk, line.item_id, line.location_id, line.lot), "")
            target = line.counted + (line.moved if choice == DriftChoice.PLUS_MOVEMENTS else 0)
            targets.append((area, line, choice, target))
    posted = stock_count_correct_bulk(actor=actor, reference=reference, reason="count", counts=[
        Counted(item=items[line.item_id], location=locations[line.location_id], counted=target, lot=line.lot)
        for _, line, _, target in targets])
    results, value_difference = [], Decimal(0)
    for area, line, choice, _ in targets:
        movement = posted.get((line.item_id, line.location_id, line.lot))
        moved = movement.quantity if movement else Decimal(0)
        value_difference += moved * line.unit_cost
        results.append(CountResultLine(
            organization_id=session.organization_id, session=session, area_barcode=area.barcode,
            location_code=locations[line.location_id].code, sku=items[line.item_id].sku,
            item_name=items[line.item_id].name, lot=line.lot, expected=line.expected, counted=line.counted,
            moved=line.moved, choice=choice, posted=moved, unit_cost=line.unit_cost,
            counted_by=counters.get(area.pk, ""),
            approved_by=area.approved_by.email if area.approved_by else "automatic (within tolerance)",
            approved_at=area.approved_at))
    CountResultLine.objects.bulk_create(results, batch_size=2000)
    session.status, session.ended_at, session.ended_by = SessionStatus.COMPLETED, timezone.now(), actor.user
    session.save()
    session.areas.update(is_open=False)
    summary = {"lines": len(results), "corrected": sum(1 for r in results if r.posted),
               "value_difference": str(value_difference.quantize(Decimal("0.01")))}
    audit_record(actor=actor, action="count.complete", obj=session, after=summary)
    event_publish(organization=actor.organization, name="count.completed", payload={
        "count_id": session.pk, "name": session.name, "site": session.site.code, **summary,
        "completed_by": actor.user.email if actor.user else None})
    return session
