"""Reads of counts, scoped to the organization and the person's sites."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from stocktrace.core.errors import Conflict, NotFound
from stocktrace.counts.models import (
    CountArea,
    CountDevice,
    CountException,
    CountExpected,
    CountResultLine,
    CountScan,
    CountSession,
    ExceptionStatus,
    ScanKind,
)
from stocktrace.counts.permissions import COUNTS_MANAGE, COUNTS_VIEW
from stocktrace.inventory.models import Item, Location, OnHand
from stocktrace.inventory.quantities import QUANTITY_STEP
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership
from stocktrace.tenancy.roles import Role

HELD_STATUSES = ("assigned", "counting")


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


def devices_of(*, actor: Actor) -> QuerySet[CountDevice]:
    actor.require(COUNTS_MANAGE)
    return CountDevice.objects.for_org(actor.organization).select_related("membership__user")


def session_progress(session: CountSession) -> dict[str, Any]:
    """Areas by status, and scans so far."""
    by_status = dict(CountArea.objects.filter(session=session).values_list("status").annotate(n=Count("pk")))
    stats = CountScan.objects.filter(session=session).aggregate(scans=Count("pk"), last=Max("received_at"))
    open_exceptions = CountException.objects.filter(session=session, status=ExceptionStatus.OPEN).count()
    return {"areas": sum(by_status.values()), "by_status": by_status, "scans": stats["scans"],
            "last_scan_at": stats["last"], "scans_last_hour": scans_per_hour(session),
            "open_exceptions": open_exceptions}




@dataclass(frozen=True)
class VarianceLine:
    """One item × location × lot of an area: what the snapshot expected, what the current round counted, and
    what lies there now (the difference from the snapshot moved in the ledger during the count)."""

    item_id: int
    location_id: int
    lot: str
    expected: Decimal
    counted: Decimal
    on_hand: Decimal
    unit_cost: Decimal

    @property
    def difference(self) -> Decimal:
        return self.counted - self.expected

    @property
    def value(self) -> Decimal:
        return (self.difference * self.unit_cost).quantize(Decimal("0.01"))

    @property
    def percent(self) -> Decimal | None:
        """The difference as a percentage of what was expected; None when nothing was expected."""
        return None if not self.expected else (self.difference * 100 / self.expected).quantize(Decimal("0.1"))

    @property
    def moved(self) -> Decimal:
        return self.on_hand - self.expected

    @property
    def status(self) -> str:
        if self.counted == self.expected:
            return "match"
        if not self.counted:
            return "missing"
        if not self.expected:
            return "unexpected"
        return "over" if self.counted > self.expected else "short"


def area_variance(area: CountArea) -> list[VarianceLine]:
    """Every line of the area that was expected, counted, or moved during the count, by item, location, lot."""
    expected, counted = area_expected(area), area_counted(area)
    now = {(row.item_id, row.location_id, row.lot): row.quantity for row in OnHand.objects.filter(
        organization_id=area.organization_id, location__path__startswith=area.location.path)}
    keys = set(expected) | set(counted) | {key for key, quantity in now.items() if quantity != expected.get(key, 0)}
    costs = dict(Item.objects.filter(pk__in={key[0] for key in keys}).values_list("pk", "unit_cost"))
    zero = Decimal("0.000")
    return [VarianceLine(item_id=item, location_id=location, lot=lot, expected=expected.get(key, zero),
                         counted=counted.get(key, zero), on_hand=now.get(key, zero), unit_cost=costs[item])
            for key in sorted(keys) for item, location, lot in [key]]


def report_rows(session: CountSession) -> Iterator[tuple[Any, ...]]:
    """The frozen report's lines as table rows (REPORT_COLUMNS of the API); refused before completion."""
    if session.status != "completed":
        raise Conflict(f"Count {session.name} is {session.status.replace('_', ' ')}: its report exists once "
                       "it is completed")
    return _report_lines(session)


def _report_lines(session: CountSession) -> Iterator[tuple[Any, ...]]:
    for line in CountResultLine.objects.filter(session=session).order_by("area_barcode", "location_code", "sku",
                                                                          "lot").iterator(chunk_size=2000):
        yield (line.area_barcode, line.location_code, line.sku, line.item_name, line.lot, line.expected, line.counted,
               line.moved, line.choice, line.posted, line.unit_cost, (line.posted * line.unit_cost).quantize(
                   Decimal("0.01")), line.counted_by, line.approved_by, line.approved_at)


def scanner_status(session: CountSession) -> list[dict[str, Any]]:
    """Everyone on the count: the people of its site who count (counters and supervisors), anyone holding an
    area, anyone who scanned. Per person: the areas held now, scans in this count, the last scan and how long
    ago. Nobody drops out of the list for lacking a site list entry: holders and scanners are always there."""
    now = timezone.now()
    scans = {row["counter_id"]: row for row in CountScan.objects.filter(session=session, kind=ScanKind.SCAN)
             .values("counter_id").annotate(scans=Count("pk"), last=Max("received_at"))}
    held: dict[int, list[str]] = {}
    for holder_id, barcode in (CountArea.objects.filter(session=session, status__in=HELD_STATUSES)
                               .exclude(holder=None).values_list("holder_id", "barcode").order_by("barcode")):
        held.setdefault(holder_id, []).append(barcode)
    site_people = (Membership.objects.filter(organization_id=session.organization_id, is_active=True,
                                             role__in=[Role.COUNTER, Role.SUPERVISOR],
                                             site_assignments__site_id=session.site_id).values_list("pk", flat=True))
    ids = set(site_people) | set(scans) | set(held)
    people = Membership.objects.filter(pk__in=ids).select_related("user").order_by("user__email")
    return [{"membership_id": m.pk, "email": m.user.email, "role": m.role, "areas": held.get(m.pk, []),
             "scans": scans.get(m.pk, {}).get("scans", 0), "last_scan_at": scans.get(m.pk, {}).get("last"),
             "idle_seconds": int((now - scans[m.pk]["last"]).total_seconds()) if m.pk in scans else None}
            for m in people]


def scans_per_hour(session: CountSession) -> int:
    """Scans received in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    return CountScan.objects.filter(session=session, kind=ScanKind.SCAN, received_at__gte=since).count()


def personal_stats(session: CountSession, actor: Actor) -> dict[str, Any]:
    """The person's own numbers in this count only (never another count's, never all time)."""
    me = actor.membership
    mine = CountScan.objects.filter(session=session, counter=me)
    return {"scans": mine.filter(kind=ScanKind.SCAN).count(), "undos": mine.filter(kind=ScanKind.UNDO).count(),
            "areas_held": list(CountArea.objects.filter(session=session, holder=me, status__in=HELD_STATUSES)
                               .values_list("barcode", flat=True)),
            "areas_submitted": CountArea.objects.filter(session=session, holder=me).exclude(
                status__in=[*HELD_STATUSES, "available"]).count()}


def areas_held_by(*, actor: Actor) -> QuerySet[CountArea]:
    """The areas the person holds in counts in progress (where the scanning page takes them back)."""
    actor.require(COUNTS_VIEW)
    return (CountArea.objects.for_org(actor.organization)
            .filter(holder=actor.membership, status__in=HELD_STATUSES, session__status="in_progress")
            .select_related("session", "location").order_by("barcode"))


def line_names(lines: list[VarianceLine]) -> dict[tuple[int, int], tuple[str, str, str]]:
    """(item, location) → (SKU, item name, location code) for the lines, in two queries."""
    items = {pk: (sku, name) for pk, sku, name in Item.objects.filter(
        pk__in={line.item_id for line in lines}).values_list("pk", "sku", "name")}
    codes = dict(Location.objects.filter(pk__in={line.location_id for line in lines}).values_list("pk", "code"))
    return {(line.item_id, line.location_id): (*items[line.item_id], codes[line.location_id]) for line in lines}


def area_counted_named(area: CountArea) -> list[tuple[str, str, str, str, Decimal]]:
    """What the current round counted, as (SKU, name, location code, lot, quantity): for blind counters."""
    counted = area_counted(area)
    items = {pk: (sku, name) for pk, sku, name in Item.objects.filter(
        pk__in={key[0] for key in counted}).values_list("pk", "sku", "name")}
    codes = dict(Location.objects.filter(pk__in={key[1] for key in counted}).values_list("pk", "code"))
    return sorted((*items[item], codes[location], lot, quantity) for (item, location, lot), quantity in counted.items())


def counters_for(session: CountSession) -> QuerySet[Membership]:
    """Who may be given an area of the count: active counters and supervisors of its site, and admins."""
    return (Membership.objects.filter(organization_id=session.organization_id, is_active=True)
            .filter(Q(role=Role.ADMIN) | Q(role__in=[Role.COUNTER, Role.SUPERVISOR],
                                          site_assignments__site_id=session.site_id))
            .select_related("user").distinct().order_by("user__email"))


def counter_get(session: CountSession, membership_id: str) -> Membership:
    member = counters_for(session).filter(pk=int(membership_id)).first() if membership_id.isdigit() else None
    if member is None:
        raise NotFound("Choose someone who counts at the count's site")
    return member
