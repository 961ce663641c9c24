"""Demo counts: a completed spot check with its report at WH-SOUTH, and a cycle count in progress at WH-NORTH
with an area in every state, scans and an unknown code waiting for the supervisor. Built through the counts
services, by the demo's people, so the pages show the workflow as it happens."""

import uuid
from decimal import Decimal

from django.db.models import Count

from stocktrace.counts.models import CountArea, CountExpected
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import completion, scans, sessions
from stocktrace.inventory.models import Location, OnHand
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Organization, Site


def _racks_with_stock(site: Site, how_many: int) -> list[Location]:
    """The racks of the site whose bins hold the most stock lines; empty racks fill up a small demo."""
    counted = (OnHand.objects.filter(site=site).exclude(quantity=0).values("location__parent")
               .annotate(n=Count("pk")).order_by("-n", "location__parent")[:how_many])
    chosen = [row["location__parent"] for row in counted]
    chosen += list(Location.objects.filter(site=site, kind="rack").exclude(pk__in=chosen).order_by("code")
                   .values_list("pk", flat=True)[:how_many - len(chosen)])
    return list(Location.objects.filter(pk__in=chosen).order_by("code"))


def _count_as_expected(actor: Actor, area: CountArea, *, short_by: Decimal = Decimal(0)) -> None:
    """Scan what the snapshot expects in the area (the first line `short_by` less), as a careful counter would."""
    for n, expected in enumerate(CountExpected.objects.filter(area=area).select_related("item", "location")
                                 .order_by("pk")):
        quantity = expected.quantity - (short_by if n == 0 else 0)
        if quantity > 0:
            scans.scan_record(actor=actor, area=area, scan_uuid=uuid.uuid4(), code=expected.item.sku,
                              quantity=quantity, lot=expected.lot, location=expected.location, device_id="demo")


def demo_counts_load(*, organization: Organization, people: dict[str, Membership]) -> dict[str, int]:
    supervisor = Actor(organization=organization, membership=people["supervisor"], device="demo")
    counter = Actor(organization=organization, membership=people["counter"], device="demo")
    south = Site.objects.get(organization=organization, code="WH-SOUTH")
    north = Site.objects.get(organization=organization, code="WH-NORTH")

    done = sessions.session_plan(actor=supervisor, site=south, name="Spot check, zone A", kind="spot")
    sessions.areas_add(actor=supervisor, session=done, locations=_racks_with_stock(south, 2))
    sessions.session_start(actor=supervisor, session=done)
    for n, area in enumerate(CountArea.objects.filter(session=done).order_by("barcode")):
        area = area_services.area_claim(actor=supervisor, area=area)
        _count_as_expected(supervisor, area, short_by=Decimal(1) if n == 0 else Decimal(0))
        area = area_services.area_submit(actor=supervisor, area=area)
        area_services.area_approve(actor=supervisor, area=area)
    completion.session_complete(actor=supervisor, session=done)

    running = sessions.session_plan(actor=supervisor, site=north, name="Cycle count, busiest racks", kind="cycle")
    sessions.areas_add(actor=supervisor, session=running, locations=_racks_with_stock(north, 6))
    sessions.session_start(actor=supervisor, session=running)
    approved, waiting, rejected, counting, assigned = list(
        CountArea.objects.filter(session=running).order_by("barcode"))[:5]
    for area in (approved, waiting, rejected):
        area = area_services.area_claim(actor=counter, area=area)
        _count_as_expected(counter, area, short_by=Decimal(0) if area.pk == approved.pk else Decimal(2))
        area = area_services.area_submit(actor=counter, area=area)
        if area.pk == approved.pk:
            area_services.area_approve(actor=supervisor, area=area)
        elif area.pk == rejected.pk:
            area_services.area_reject(actor=supervisor, area=area, reason="Count the top shelf too")
    counting = area_services.area_claim(actor=counter, area=counting)
    _count_as_expected(counter, counting)
    scans.scan_record(actor=counter, area=counting, scan_uuid=uuid.uuid4(), code="NO-LABEL-7", device_id="demo")
    area_services.area_assign(actor=supervisor, area=assigned, holder=people["counter"])
    return {"counts": 2, "areas": CountArea.objects.filter(session__in=[done, running]).count()}
