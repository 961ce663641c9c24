"""Reads of counts, scoped to the organization and the person's sites."""

from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from stocktrace.core.errors import NotFound
from stocktrace.counts.models import CountArea, CountException, CountExpected, CountScan, CountSession, ExceptionStatus
from stocktrace.counts.permissions import COUNTS_VIEW
from stocktrace.inventory.quantities import QUANTITY_STEP
from stocktrace.tenancy.actor import Actor


def sessions_visible(*, actor: Actor, site_id: int | None = None, status: str | None = None) -> QuerySet[CountSession]:
    actor.require(COUNTS_VIEW)
    sessions = CountSession.objects.for_org(actor.organization).select_related("site")
    if actor.site_ids is not None:
        sessions = sessions.filter(site_id__in=actor.site_ids)
    if site_id:
        sessions = sessions.filter(site_id=site_id)
    if status:
        sessions = sessions.filter(status=status)
    return sessions


def session_get(*, actor: Actor, session_id: int) -> CountSession:
    session = sessions_visible(actor=actor).filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such count")
    return session


def areas_of(*, actor: Actor, session: CountSession, status: str | None = None) -> QuerySet[CountArea]:
    actor.require(COUNTS_VIEW)
    areas = CountArea.objects.filter(session=session).select_related("location", "holder__user")
    return areas.filter(status=status) if status else areas


def area_get(*, actor: Actor, area_id: int) -> CountArea:
    area = (CountArea.objects.for_org(actor.organization).filter(pk=area_id)
            .select_related("session", "session__site", "location", "holder__user").first())
    if area is None or (actor.site_ids is not None and area.session.site_id not in actor.site_ids):
        raise NotFound("No such count area")
    actor.require(COUNTS_VIEW)
    return area


def area_by_barcode(*, actor: Actor, barcode: str) -> CountArea:
    """An open count's area by its label's barcode."""
    area = (CountArea.objects.for_org(actor.organization).filter(barcode=barcode.strip(), is_open=True)
            .select_related("session", "session__site", "location", "holder__user").first())
    if area is None or (actor.site_ids is not None and area.session.site_id not in actor.site_ids):
        raise NotFound(f"No count area with barcode {barcode.strip()!r} in an open count")
    actor.require(COUNTS_VIEW)
    return area


def scans_of(*, actor: Actor, area: CountArea, round_no: int | None = None) -> QuerySet[CountScan]:
    actor.require(COUNTS_VIEW)
    scans = CountScan.objects.filter(area=area).select_related("item", "location", "counter__user", "exception")
    return scans.filter(round=round_no) if round_no else scans


def counting_scans(area: CountArea) -> QuerySet[CountScan]:
    """The scans of the area's current round that count: not waiting on a supervisor, not dismissed; each
    counts as its item, or as the item its exception was mapped to."""
    return (CountScan.objects.filter(area=area, round=area.round)
            .filter(Q(exception__isnull=True) | Q(exception__status=ExceptionStatus.MAPPED))
            .annotate(counted_item=Coalesce("exception__item_id", "item_id"))
            .exclude(counted_item__isnull=True))


def area_counted(area: CountArea) -> dict[tuple[int, int, str], Decimal]:
    """(item, location, lot) → the quantity counted in the area's current round."""
    # `counted_item` is counting_scans' annotation, which the stubs do not follow across functions.
    rows = counting_scans(area).values("counted_item", "location_id", "lot")  # type: ignore[misc]
    return {(row["counted_item"], row["location_id"], row["lot"]): row["total"].quantize(QUANTITY_STEP)
            for row in rows.annotate(total=Sum("quantity"))}


def area_expected(area: CountArea) -> dict[tuple[int, int, str], Decimal]:
    return {(row.item_id, row.location_id, row.lot): row.quantity for row in CountExpected.objects.filter(area=area)}


def my_area_total(area: CountArea, actor: Actor) -> Decimal:
    """What this person has counted in the area this round (what the scanning page shows them)."""
    total = counting_scans(area).filter(counter=actor.membership).aggregate(t=Sum("quantity"))["t"]
    return (total or Decimal(0)).quantize(QUANTITY_STEP)


def exceptions_of(*, actor: Actor, session: CountSession, status: str | None = None) -> QuerySet[CountException]:
    actor.require(COUNTS_VIEW)
    exceptions = CountException.objects.filter(session=session).select_related("scan", "area", "item")
    return exceptions.filter(status=status) if status else exceptions


def exception_get(*, actor: Actor, exception_id: int) -> CountException:
    exception = (CountException.objects.for_org(actor.organization).filter(pk=exception_id)
                 .select_related("session", "session__site", "scan", "area", "item").first())
    if exception is None or (actor.site_ids is not None and exception.session.site_id not in actor.site_ids):
        raise NotFound("No such count exception")
    actor.require(COUNTS_VIEW)
    return exception


def session_progress(session: CountSession) -> dict[str, Any]:
    """Areas by status, and scans so far."""
    by_status = dict(CountArea.objects.filter(session=session).values_list("status").annotate(n=Count("pk")))
    stats = CountScan.objects.filter(session=session).aggregate(scans=Count("pk"), last=Max("received_at"))
    return {"areas": sum(by_status.values()), "by_status": by_status, "scans": stats["scans"],
            "last_scan_at": stats["last"], "open_exceptions": CountException.objects.filter(
                session=session, status=ExceptionStatus.OPEN).count()}


