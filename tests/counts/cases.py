"""The counts app's API endpoints (tests/cases.py describes the convention). Builders make a count of the
target tenant's first site (a cycle count, so the extra stock make_rows adds elsewhere does not matter) with
areas in the state each call needs."""

import itertools
import uuid

from stocktrace.counts.models import CountArea, CountException, CountSession
from stocktrace.counts.permissions import COUNTS_SCAN
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import completion
from stocktrace.counts.services import scans as scan_services
from stocktrace.counts.services import sessions as session_services
from stocktrace.counts.services import sync as sync_services
from stocktrace.inventory.models import Item, Location
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.roles import Role, role_has
from tests.cases import Case, Page
from tests.factories import stocked
from tests.inventory.cases import target_barcode

_serial = itertools.count(1)


def _bin(tenant) -> Location:
    """A new empty bin at the tenant's first site (made without the service: it writes no audit row)."""
    n = next(_serial)
    location = Location.objects.create(organization=tenant.organization, site=tenant.sites[0], code=f"CB-{n}",
                                       barcode=f"{tenant.name.upper()}-CB-{n}", path="/")
    location.path = f"/{location.pk}/"
    location.save(update_fields=["path"])
    return location


def planned(tenant) -> CountSession:
    return session_services.session_plan(actor=tenant.actor(), site=tenant.sites[0], name=f"Count {next(_serial)}",
                                         kind="cycle")


def running(tenant) -> CountSession:
    """The count in progress at the tenant's first site, its first area being the stocked bin."""
    session = CountSession.objects.filter(organization=tenant.organization, status="in_progress").first()
    if session is None:
        session = planned(tenant)
        session_services.areas_add(actor=tenant.actor(), session=session, locations=[stocked(tenant)[1]])
        session_services.session_start(actor=tenant.actor(), session=session)
    return session


def free_area(tenant) -> CountArea:
    """A new available area of the running count."""
    return session_services.areas_add(actor=tenant.actor(), session=running(tenant), locations=[_bin(tenant)])[0]


def _counter_role(role) -> Role:
    return role if role_has(role, COUNTS_SCAN) else Role.COUNTER


def held_area(tenant, role) -> CountArea:
    """A new area held by the tenant's person of `role` (a counter's, for roles that do not count)."""
    area = free_area(tenant)
    return area_services.area_assign(actor=tenant.actor(), area=area, holder=tenant.members[_counter_role(role)])


def scanned_area(tenant, role) -> CountArea:
    area = held_area(tenant, role)
    scan_services.scan_record(actor=tenant.actor(_counter_role(role)), area=area, scan_uuid=uuid.uuid4(),
                              code=target_barcode(tenant))
    return area


def submitted_area(tenant) -> CountArea:
    area = scanned_area(tenant, Role.COUNTER)
    return area_services.area_submit(actor=tenant.actor(Role.COUNTER), area=area)


def open_exception(tenant) -> CountException:
    area = held_area(tenant, Role.COUNTER)
    result = scan_services.scan_record(actor=tenant.actor(Role.COUNTER), area=area, scan_uuid=uuid.uuid4(),
                                       code="NOT-OURS-1")
    return result.scan.exception


def _count(own, role, target) -> dict:
    return {"count_id": running(target).pk}


def _area(builder):
    return lambda own, role, target: {"area_id": builder(target).pk}


def _area_for(builder):
    return lambda own, role, target: {"area_id": builder(target, role).pk}


def _exception(own, role, target) -> dict:
    return {"exception_id": open_exception(target).pk}


API_CASES: dict[str, Case] = {
    "GET /counts": Case(),
    "POST /counts": Case(body=lambda own, role, target: {"site_id": target.sites[0].pk, "name": "Aisle 3 recount"},
                         audit_action="count.plan", crosses_tenants=True, success=201),
    "GET /counts/{count_id}": Case(params=_count, crosses_tenants=True),
    "POST /counts/{count_id}/areas": Case(
        params=lambda own, role, target: {"count_id": planned(target).pk},
        body=lambda own, role, target: {"location_ids": [stocked(target)[1].pk]},
        audit_action="count.areas_add", crosses_tenants=True, success=201),
    "GET /counts/{count_id}/areas": Case(params=_count, crosses_tenants=True),
    "POST /counts/{count_id}/start": Case(params=lambda own, role, target: {"count_id": _planned_with_area(target).pk},
                                          audit_action="count.start", crosses_tenants=True),
    "POST /counts/{count_id}/cancel": Case(params=_count, body=lambda *a: {"reason": "Planned for the wrong day"},
                                           audit_action="count.cancel", crosses_tenants=True),
    "GET /counts/{count_id}/exceptions": Case(params=_count, crosses_tenants=True),
    "GET /counts/{count_id}/scanners": Case(params=_count, crosses_tenants=True),
    "GET /counts/{count_id}/me": Case(params=_count, crosses_tenants=True),
    "POST /count-areas/claim": Case(body=lambda own, role, target: {"barcode": free_area(target).barcode},
                                    audit_action="count_area.claim", crosses_tenants=True),
    "GET /count-areas/{area_id}": Case(params=_area_for(scanned_area), crosses_tenants=True),
    "POST /count-areas/{area_id}/assign": Case(
        params=_area(free_area), body=lambda own, role, target: {"membership_id": own.members[Role.COUNTER].pk},
        audit_action="count_area.assign", crosses_tenants=True),
    "POST /count-areas/{area_id}/release": Case(params=_area_for(held_area), audit_action="count_area.release",
                                                crosses_tenants=True),
    "POST /count-areas/{area_id}/submit": Case(params=_area_for(scanned_area), audit_action="count_area.submit",
                                               crosses_tenants=True),
    "POST /count-areas/{area_id}/approve": Case(params=_area(submitted_area), body=lambda *a: {},
                                                audit_action="count_area.approve", crosses_tenants=True),
    "GET /count-areas/{area_id}/variances": Case(params=_area_for(scanned_area), crosses_tenants=True),
    "POST /counts/{count_id}/complete": Case(params=lambda own, role, target: {"count_id": completable(target).pk},
                                             audit_action="count.complete", crosses_tenants=True),
    "GET /counts/{count_id}/report": Case(params=lambda own, role, target: {"count_id": completed(target).pk},
                                          crosses_tenants=True),
    "POST /count-sync": Case(body=lambda own, role, target: {"device_id": "phone-1", "pending": 0, "scans": [
        {"uuid": str(uuid.uuid4()), "area_id": held_area(target, role).pk, "code": target_barcode(target)}]}),
    "GET /count-devices": Case(),
    "GET /count-settings": Case(),
    "PATCH /count-settings": Case(body=lambda *a: {"tolerance_percent": "5", "auto_approve": False},
                                  audit_action="count_settings.update"),
    "POST /count-areas/{area_id}/reject": Case(params=_area(submitted_area), body=lambda *a: {"reason": "Recount"},
                                               audit_action="count_area.reject", crosses_tenants=True),
    "POST /count-areas/{area_id}/scans": Case(
        params=_area_for(held_area),
        body=lambda own, role, target: {"uuid": str(uuid.uuid4()), "code": target_barcode(own), "quantity": "2"},
        crosses_tenants=True, success=201),
    "POST /count-areas/{area_id}/undo": Case(params=_area_for(scanned_area),
                                             body=lambda *a: {"uuid": str(uuid.uuid4())}, crosses_tenants=True,
                                             success=201),
    "GET /count-areas/{area_id}/scans": Case(params=_area_for(scanned_area), crosses_tenants=True),
    "POST /count-exceptions/{exception_id}/map": Case(
        params=_exception, body=lambda own, role, target: {"item_id": stocked(own)[0].pk},
        audit_action="count_exception.map", crosses_tenants=True),
    "POST /count-exceptions/{exception_id}/dismiss": Case(params=_exception, body=lambda *a: {"reason": "Not ours"},
                                                          audit_action="count_exception.dismiss",
                                                          crosses_tenants=True),
}


def completable(tenant) -> CountSession:
    """The running count, every area recounted exactly as expected and approved, every exception dismissed: its
    completion posts no correction (so it writes one audit row, its own)."""
    session = running(tenant)
    admin = tenant.actor()
    counter = tenant.actor(Role.COUNTER)
    for exception in CountException.objects.filter(session=session, status="open"):
        scan_services.exception_dismiss(actor=admin, exception=exception, reason="Not ours")
    for area in CountArea.objects.filter(session=session).exclude(status="approved"):
        if area.status == "ready_for_approval":
            area = area_services.area_reject(actor=admin, area=area, reason="Recount")
        if area.status != "available":
            area = area_services.area_release(actor=admin, area=area)
        area = area_services.area_assign(actor=admin, area=area, holder=tenant.members[Role.COUNTER])
        for expected in area.expected.select_related("item"):
            scan_services.scan_record(actor=counter, area=area, scan_uuid=uuid.uuid4(), code=expected.item.sku,
                                      quantity=expected.quantity, lot=expected.lot, location=expected.location)
        area = area_services.area_submit(actor=counter, area=area)
        area_services.area_approve(actor=admin, area=area)
    return session


def completed(tenant) -> CountSession:
    session = CountSession.objects.filter(organization=tenant.organization, status="completed").first()
    return session or completion.session_complete(actor=tenant.actor(), session=completable(tenant))


def _planned_with_area(tenant) -> CountSession:
    session = planned(tenant)
    session_services.areas_add(actor=tenant.actor(), session=session, locations=[_bin(tenant)])
    return session


QUERY_BUDGETS: dict[str, int] = {
    "GET /counts": 4,
    "GET /counts/{count_id}/areas": 5,
    "GET /counts/{count_id}/exceptions": 5,
    "GET /count-areas/{area_id}/scans": 5,
    "GET /count-areas/{area_id}/variances": 8,
    "GET /count-devices": 4,
    "GET /counts/{count_id}/scanners": 8,
    "counts": 8,
    "count": 19,
    "count_live": 19,
    "count_report": 6,
    "count_labels": 7,
    "count_area": 14,
    "count_scan": 7,
    "count_scan_area": 9,
}


def make_rows(tenant, count: int) -> None:
    """More counts (planned), areas held by the counter with a scan and an unknown code each, and a scan more in
    every area someone holds in the running count (the cases' areas too). Written with one audited call: the
    audit log's own list must not fill up with counts' rows."""
    session = running(tenant)
    counter = tenant.members[Role.COUNTER]
    for _ in range(count):
        CountSession.objects.create(organization=tenant.organization, site=tenant.sites[0], name="Planned", kind="spot")
    areas = session_services.areas_add(actor=tenant.actor(), session=session, locations=[_bin(tenant) for _ in
                                                                                          range(count)])
    CountArea.objects.filter(pk__in=[a.pk for a in areas]).update(holder=counter, status="assigned")
    newest = list(Item.objects.filter(organization=tenant.organization).order_by("-pk").values_list("sku", flat=True)
                  [:count])  # the items other apps' make_rows just made: more lines in every area's variances
    for area in CountArea.objects.filter(session=session, status__in=["assigned", "counting"]).select_related("holder"):
        actor = Actor(organization=tenant.organization, membership=area.holder, device="test")
        for code in newest + (["NOT-OURS-2"] if area.pk in {a.pk for a in areas} else []):
            scan_services.scan_record(actor=actor, area=area, scan_uuid=uuid.uuid4(), code=code)
    for _ in range(count):
        sync_services.scans_sync(actor=tenant.actor(Role.COUNTER), device_id=f"device-{next(_serial)}", scans=[])


PAGES: dict[str, Page] = {
    "counts": Page(),
    "count_plan": Page("POST", data=lambda own, role, target: {"site": target.sites[0].pk, "name": "Aisle 3",
                                                                "kind": "cycle", "mode": "blind"}),
    "count": Page(kwargs=_count),
    "count_live": Page(kwargs=_count),
    "count_areas_add": Page("POST", kwargs=lambda own, role, target: {"count_id": planned(target).pk},
                            data=lambda own, role, target: {"codes": stocked(target)[1].barcode}),
    "count_start": Page("POST", kwargs=lambda own, role, target: {"count_id": _planned_with_area(target).pk},
                        data=lambda *a: {}),
    "count_cancel": Page("POST", kwargs=_count, data=lambda *a: {"reason": "Wrong day"}),
    "count_complete": Page("POST", kwargs=lambda own, role, target: {"count_id": completable(target).pk},
                           data=lambda *a: {}),
    "count_report": Page(kwargs=lambda own, role, target: {"count_id": completed(target).pk}),
    "count_labels": Page(kwargs=_count),
    "count_area": Page(kwargs=_area_for(scanned_area)),
    "count_area_submit": Page("POST", kwargs=_area_for(scanned_area), data=lambda *a: {}),
    "count_area_action": Page("POST", kwargs=lambda own, role, target: {"area_id": submitted_area(target).pk,
                                                                        "action": "approve"},
                             data=lambda *a: {}),
    "count_exception_action": Page("POST", kwargs=lambda own, role, target: {
        "exception_id": open_exception(target).pk, "action": "dismiss"}, data=lambda *a: {"reason": "Not ours"}),
    "count_scan": Page(),
    "count_claim": Page("POST", data=lambda own, role, target: {"barcode": free_area(target).barcode}),
    "count_scan_area": Page(kwargs=_area_for(held_area)),
}
