"""Count sessions: plan, add areas, start (the expected snapshot), cancel."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from stocktrace.audit.services import audit_record, snapshot
from stocktrace.core.decimals import decimal_parse
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.counts.models import (
    CountArea,
    CountExpected,
    CountKind,
    CountMode,
    CountSession,
    CountSettings,
    SessionStatus,
)
from stocktrace.counts.permissions import COUNTS_MANAGE
from stocktrace.counts.rules import (
    area_barcode,
    area_barcode_format_check,
    reason_check,
    session_open_require,
    site_access_require,
)
from stocktrace.inventory.models import Location, OnHand, StockMovement
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site

SESSION_AUDITED = ["site", "name", "kind", "mode", "status", "cancel_reason"]
AREAS_AT_ONCE = 5000  # the most areas one call adds


def count_settings(organization: Organization, *, lock: bool = False) -> CountSettings:
    settings, _ = CountSettings.objects.get_or_create(organization=organization)
    if lock:
        settings = CountSettings.objects.select_for_update().get(pk=settings.pk)
    return settings


SETTINGS_AUDITED = ["area_barcode_format", "tolerance_percent", "tolerance_value", "auto_approve"]
UNSET = object()


@transaction.atomic
def count_settings_update(*, actor: Actor, area_barcode_format: str | None = None, tolerance_percent: object = UNSET,
                          tolerance_value: object = UNSET, auto_approve: bool | None = None) -> CountSettings:
    """Change what is given; a tolerance of None removes it."""
    actor.require(COUNTS_MANAGE)
    settings = count_settings(actor.organization, lock=True)
    before = snapshot(settings, SETTINGS_AUDITED)
    if area_barcode_format is not None:
        settings.area_barcode_format = area_barcode_format_check(area_barcode_format)
    if tolerance_percent is not UNSET:
        settings.tolerance_percent = None if tolerance_percent is None else _tolerance(
            tolerance_percent, places=2, field="tolerance_percent")
    if tolerance_value is not UNSET:
        settings.tolerance_value = None if tolerance_value is None else _tolerance(
            tolerance_value, places=4, field="tolerance_value")
    if auto_approve is not None:
        settings.auto_approve = auto_approve
    settings.save()
    audit_record(actor=actor, action="count_settings.update", obj=settings, before=before,
                 after=snapshot(settings, SETTINGS_AUDITED))
    return settings


def _tolerance(value: object, *, places: int, field: str) -> Decimal:
    try:
        number = decimal_parse(value, places)
    except ValueError as error:
        raise InvalidInput(str(error), field=field) from error
    if number < 0:
        raise InvalidInput("A tolerance cannot be negative", field=field)
    return number


def session_plan(*, actor: Actor, site: Site, name: str, kind: str = CountKind.FULL, mode: str = CountMode.BLIND,
                 notes: str = "") -> CountSession:
    actor.require(COUNTS_MANAGE)
    site_access_require(actor, site.pk, site.code)
    if site.archived_at is not None:
        raise Conflict(f"Site {site.code} is archived")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("A count needs a name of 1 to 100 characters", field="name")
    if kind not in CountKind.values:
        raise InvalidInput(f"Unknown kind {kind!r}: {', '.join(CountKind.values)}", field="kind")
    if mode not in CountMode.values:
        raise InvalidInput(f"Unknown mode {mode!r}: {', '.join(CountMode.values)}", field="mode")
    session = CountSession.objects.create(organization=actor.organization, site=site, name=name, kind=kind,
                                          mode=mode, notes=notes.strip(), created_by=actor.user)
    audit_record(actor=actor, action="count.plan", obj=session, after=snapshot(session, SESSION_AUDITED))
    return session


def _overlap(locations: list[Location], taken: list[Location]) -> tuple[Location, Location] | None:
    """Two locations of which one lies in the other (or the same one twice), if any: an area must not be
    counted twice."""
    seen = sorted([(loc.path, loc) for loc in [*taken, *locations]], key=lambda pair: pair[0])
    for (path, outer), (inner_path, inner) in zip(seen, seen[1:], strict=False):
        if inner_path.startswith(path):
            return outer, inner
    return None


@transaction.atomic
def areas_add(*, actor: Actor, session: CountSession, locations: list[Location]) -> list[CountArea]:
    """Make each location (with everything under it) an area of the session, numbered and given a barcode
    in the organization's format. Refused when a location is another site's, archived, or lies in (or holds)
    an area the session has."""
    actor.require(COUNTS_MANAGE)
    session = CountSession.objects.select_for_update().get(pk=session.pk)
    session_open_require(session)
    if not locations:
        raise InvalidInput("Choose at least one location", field="location_ids")
    if len(locations) > AREAS_AT_ONCE:
        raise InvalidInput(f"At most {AREAS_AT_ONCE} areas at once", field="location_ids")
    for location in locations:
        if location.site_id != session.site_id:
            raise InvalidInput(f"{location.code} is not in the count's site", field="location_ids")
        if location.archived_at is not None:
            raise InvalidInput(f"{location.code} is archived", field="location_ids")
    taken = list(Location.objects.filter(pk__in=session.areas.values("location_id")))
    if clash := _overlap(locations, taken):
        outer, inner = clash
        what = f"{inner.code} twice" if outer.pk == inner.pk else f"{inner.code}, which lies in {outer.code}"
        raise Conflict(f"The count would cover {what}: an area is counted once", field="location_ids")
    # The settings row, locked, numbers the organization's open areas one caller at a time.
    settings = count_settings(actor.organization, lock=True)
    number = (CountArea.objects.for_org(actor.organization).filter(is_open=True).aggregate(n=Max("number"))["n"]
              or 0)
    today, now = timezone.localdate(), timezone.now()
    areas = []
    for location in sorted(locations, key=lambda loc: loc.code):
        number += 1
        areas.append(CountArea(organization=actor.organization, session=session, location=location, number=number,
                               barcode=area_barcode(settings.area_barcode_format, number=number, day=today,
                                                    site_code=session.site.code), changed_at=now))
    try:
        with transaction.atomic():
            CountArea.objects.bulk_create(areas)
    except IntegrityError as error:
        raise Conflict("An area barcode is taken by another open count: change the barcode format "
                       "(Counts → Settings), e.g. add {SITE}") from error
    audit_record(actor=actor, action="count.areas_add", obj=session,
                 after={"areas": [f"{area.barcode} {area.location.code}" for area in areas][:100],
                        "count": len(areas)})
    return areas


@transaction.atomic
def session_start(*, actor: Actor, session: CountSession) -> CountSession:
    """Start counting: snapshot what the ledger holds in every area. One count in progress per site."""
    actor.require(COUNTS_MANAGE)
    session = CountSession.objects.select_for_update().get(pk=session.pk)
    site_access_require(actor, session.site_id, session.site.code)
    if session.status != SessionStatus.PLANNED:
        raise Conflict(f"Count {session.name} is {session.status.replace('_', ' ')}: only a planned count starts")
    areas = list(session.areas.select_related("location"))
    if not areas:
        raise Conflict("Add the areas to count first")
    if session.kind == CountKind.FULL:
        _full_coverage_require(session, areas)
    session.status, session.started_at = SessionStatus.IN_PROGRESS, timezone.now()
    session.movement_mark = (StockMovement.objects.for_org(actor.organization).aggregate(m=Max("pk"))["m"] or 0)
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as error:
        raise Conflict(f"Another count of site {session.site.code} is in progress: complete or cancel it "
                       "first") from error
    _snapshot_take(session, areas)
    audit_record(actor=actor, action="count.start", obj=session, after=snapshot(session, SESSION_AUDITED))
    return session


def _full_coverage_require(session: CountSession, areas: list[CountArea]) -> None:
    """A full stocktake counts every location holding stock at the site."""
    stocked = (OnHand.objects.filter(organization_id=session.organization_id, site_id=session.site_id)
               .exclude(quantity=0).values_list("location__path", "location__code").distinct())
    paths = [area.location.path for area in areas]
    outside = sorted({code for path, code in stocked if not any(path.startswith(p) for p in paths)})
    if outside:
        raise Conflict(f"A full stocktake counts every location holding stock; {len(outside)} lie outside its "
                       f"areas: {', '.join(outside[:5])}{'…' if len(outside) > 5 else ''}")


def area_of_path(areas_by_path: dict[str, CountArea], path: str) -> CountArea | None:
    """The area a location lies in (its own, or an ancestor's), given the areas by their location's path."""
    parts = path.strip("/").split("/")
    for depth in range(len(parts), 0, -1):
        if area := areas_by_path.get("/" + "/".join(parts[:depth]) + "/"):
            return area
    return None


def _snapshot_take(session: CountSession, areas: list[CountArea]) -> None:
    """One pass over the site's stock: each row goes to the area it lies in."""
    by_path = {area.location.path: area for area in areas}
    rows = []
    for item_id, location_id, path, lot, quantity in (
            OnHand.objects.filter(organization_id=session.organization_id, site_id=session.site_id)
            .exclude(quantity=0).values_list("item_id", "location_id", "location__path", "lot", "quantity")
            .iterator(chunk_size=2000)):
        if area := area_of_path(by_path, path):
            rows.append(CountExpected(organization_id=session.organization_id, session=session, area=area,
                                      item_id=item_id, location_id=location_id, lot=lot, quantity=quantity))
    CountExpected.objects.bulk_create(rows, batch_size=2000)


@transaction.atomic
def session_cancel(*, actor: Actor, session: CountSession, reason: str) -> CountSession:
    actor.require(COUNTS_MANAGE)
    session = CountSession.objects.select_for_update().get(pk=session.pk)
    site_access_require(actor, session.site_id, session.site.code)
    session_open_require(session)
    before = snapshot(session, SESSION_AUDITED)
    session.cancel_reason = reason_check(reason)
    session.status, session.ended_at, session.ended_by = SessionStatus.CANCELLED, timezone.now(), actor.user
    session.save()
    session.areas.update(is_open=False)
    audit_record(actor=actor, action="count.cancel", obj=session, before=before,
                 after=snapshot(session, SESSION_AUDITED))
    return session

