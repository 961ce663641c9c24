"""The inventory app's API endpoints and pages: sites, locations, items, stock, alerts (tests/cases.py describes
the convention)."""

import itertools
import uuid

from stocktrace.accounts.services import site_create
from stocktrace.inventory.models import Item, ItemBarcode, Location, StockAlert
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_receive
from stocktrace.tenancy.models import SiteAssignment
from stocktrace.tenancy.roles import Role
from tests.cases import Case, Page
from tests.factories import Tenant, stocked


def target_barcode(target: Tenant) -> str:
    return ItemBarcode.objects.get(item=stocked(target)[0]).code


def _location(own, role, target) -> dict:
    return {"location_id": stocked(target)[1].pk}


def _item(own, role, target) -> dict:
    return {"item_id": stocked(target)[0].pk}


def _posting(own, role, target) -> dict:
    item, location = stocked(target)
    return {"item_id": item.pk, "location_id": location.pk, "quantity": "1.5", "reference": "PO-1"}


def _transfer(own, role, target) -> dict:
    item, location = stocked(target)
    other = Location.objects.filter(site=location.site, code="A-02").first()
    if other is None:
        other = Location.objects.create(organization=target.organization, site=location.site, code="A-02",
                                        barcode=f"{target.name}-A-02", path="/")
        other.path = f"/{other.pk}/"
        other.save()
    return {"item_id": item.pk, "from_location_id": location.pk, "to_location_id": other.pk, "quantity": "2"}


def _empty_location(own, role, target) -> dict:
    location = stocked(target)[1]
    spare = Location.objects.create(organization=target.organization, site=location.site, code="SPARE",
                                    barcode=f"{target.name}-SPARE", path="/")
    spare.path = f"/{spare.pk}/"
    spare.save()
    return {"location_id": spare.pk}


def _alert(own, role, target) -> dict:
    item, location = stocked(target)
    alert = StockAlert.objects.create(organization=target.organization, kind="low_stock", severity="medium",
                                      item=item, site=location.site, message="low")
    return {"alert_id": alert.pk}


def _scan(tenant, **fields) -> dict:
    """A posting as a scanner fills it: the location's and the item's barcodes, not ids."""
    item, location = stocked(tenant)
    return {"location": location.barcode, "item": target_barcode(tenant), **fields}


def _transfer_scan(tenant) -> dict:
    _, source = stocked(tenant)
    destination = Location.objects.filter(site=source.site, code="B-01").first()
    if destination is None:  # made without the service, so it writes no audit row of its own
        destination = Location.objects.create(organization=tenant.organization, site=source.site, code="B-01",
                                              barcode=f"{tenant.name.upper()}-1-B-01", path="/")
        destination.path = f"/{destination.pk}/"
        destination.save(update_fields=["path"])
    return {"from_location": source.barcode, "item": target_barcode(tenant), "to_location": destination.barcode,
            "quantity": "4"}


def _empty_item(own, role, target) -> dict:
    return {"item_id": Item.objects.create(organization=target.organization, sku=f"EMPTY-{uuid.uuid4().hex[:6]}",
                                           name="Empty").pk}


API_CASES: dict[str, Case] = {
    "GET /locations": Case(),
    "POST /locations": Case(body=lambda own, role, target: {"site_id": target.sites[0].pk, "code": "B-07"},
                            audit_action="location.create", crosses_tenants=True, success=201),
    "GET /locations/{location_id}": Case(params=_location, crosses_tenants=True),
    "PATCH /locations/{location_id}": Case(params=_location, body=lambda *a: {"name": "Bin A1"},
                                           audit_action="location.update", crosses_tenants=True),
    "POST /locations/{location_id}/move": Case(params=_location, body=lambda *a: {"parent_id": None},
                                               audit_action="location.move", crosses_tenants=True),
    "POST /locations/{location_id}/archive": Case(params=_empty_location, audit_action="location.archive",
                                                  crosses_tenants=True),
    "GET /items": Case(),
    "POST /items": Case(body=lambda *a: {"sku": "NEW-1", "name": "New", "barcodes": ["12345670"]},
                        audit_action="item.create", success=201),
    "GET /items/{item_id}": Case(params=_item, crosses_tenants=True),
    "PATCH /items/{item_id}": Case(params=_item, body=lambda *a: {"min_level": "5"}, audit_action="item.update",
                                   crosses_tenants=True),
    "POST /items/{item_id}/archive": Case(params=_empty_item, audit_action="item.archive", crosses_tenants=True),
    "POST /items/{item_id}/barcodes": Case(params=_item, body=lambda *a: {"code": "INT-0001"},
                                           audit_action="item.barcode_add", crosses_tenants=True, success=201),
    "DELETE /items/{item_id}/barcodes/{code}": Case(
        params=lambda own, role, target: {**_item(own, role, target), "code": target_barcode(target)},
        audit_action="item.barcode_remove", crosses_tenants=True),
    "GET /items/{item_id}/movements": Case(params=_item, crosses_tenants=True),
    "GET /lookup/{code}": Case(params=lambda own, role, target: {"code": target_barcode(target)},
                               crosses_tenants=True),
    "GET /stock": Case(),
    "POST /stock/receipts": Case(body=_posting, audit_action="stock.receipt", crosses_tenants=True, success=201),
    "POST /stock/issues": Case(body=_posting, audit_action="stock.issue", crosses_tenants=True, success=201),
    "POST /stock/adjustments": Case(
        body=lambda own, role, target: {**{k: v for k, v in _posting(own, role, target).items() if k != "quantity"},
                                        "delta": "-1", "reason": "damaged"},
        audit_action="stock.adjustment", crosses_tenants=True, success=201),
    "POST /stock/transfers": Case(body=_transfer, audit_action="stock.transfer", crosses_tenants=True, success=201),
    "GET /alerts": Case(),
    "POST /alerts/recheck": Case(audit_action="alerts.recheck", success=202),
    "POST /alerts/{alert_id}/acknowledge": Case(params=_alert, audit_action="alert.acknowledge",
                                                crosses_tenants=True),
    "POST /alerts/{alert_id}/resolve": Case(params=_alert, audit_action="alert.resolve", crosses_tenants=True),
}

PAGES: dict[str, Page] = {
    "stock": Page(),
    "stock_receive": Page("POST", data=lambda own, role, target: _scan(target, quantity="2", lot="",
                                                                        reference="PO-1")),
    "stock_issue": Page("POST", data=lambda own, role, target: _scan(target, quantity="1.5")),
    "stock_adjust": Page("POST", data=lambda own, role, target: _scan(target, direction="remove", quantity="1",
                                                                       reason="damaged")),
    "stock_transfer": Page("POST", data=lambda own, role, target: _transfer_scan(target)),
    "lookup": Page(success=302),  # a code opens its item or location; none, as here, goes back home with a message
    "items": Page(),
    "item_create": Page("POST", data=lambda *a: {"sku": "NEW-1", "name": "New thing", "unit": "ea"}),
    "item": Page(kwargs=_item),
    "item_levels": Page("POST", kwargs=_item, data=lambda *a: {"min_level": "2", "max_level": "40"}),
    "item_barcode_add": Page("POST", kwargs=_item, data=lambda *a: {"code": "INT-77"}),
    "item_barcode_remove": Page("POST", kwargs=_item, data=lambda own, role, target: {"code": target_barcode(target)}),
    "locations": Page(),
    "location_create": Page("POST", data=lambda own, role, target: {"site": target.sites[0].pk, "code": "Z-9",
                                                                     "kind": "bin"}),
    "location": Page(kwargs=_location),
    "location_move": Page("POST", kwargs=_empty_location,
                          data=lambda own, role, target: {"parent": stocked(target)[1].barcode}),
    "location_archive": Page("POST", kwargs=_empty_location, data=lambda *a: {}),
    "alerts": Page(),
    "alerts_recheck": Page("POST", data=lambda *a: {}),
    "alert_acknowledge": Page("POST", kwargs=_alert, data=lambda *a: {}),
    "alert_resolve": Page("POST", kwargs=_alert, data=lambda *a: {}),
}


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /locations": 4,
    "GET /items": 5,
    "GET /items/{item_id}/movements": 5,
    "GET /stock": 4,
    "GET /alerts": 4,
    "stock": 6,
    "items": 6,
    "item": 11,
    "locations": 9,
    "location": 9,
    "alerts": 6,
}

_serial = itertools.count(1)


def make_rows(tenant, count: int) -> None:
    """More sites (assigned to the viewer), locations, items with a barcode and an alert, and stock: the stocked
    item (the item cases' one) in every new location, every new item in the stocked location (the location
    cases' one)."""
    actor = tenant.actor()
    item, location = stocked(tenant)
    for _ in range(count):
        n = next(_serial)
        site = site_create(actor=actor, code=f"X-{n}", name=f"Extra site {n}")
        SiteAssignment.objects.create(membership=tenant.members[Role.VIEWER], site=site)
        bin_ = location_create(actor=actor, site=location.site, code=f"X-{n}", kind="bin")
        extra = item_create(actor=actor, sku=f"X-{n}", name=f"Extra {n}", barcodes=[f"INT-X{n}"])
        stock_receive(actor=actor, item=item, location=bin_, quantity_received="1")
        stock_receive(actor=actor, item=extra, location=location, quantity_received="1")
        StockAlert.objects.create(organization=tenant.organization, kind="low_stock", severity="medium", item=extra,
                                  site=location.site, message="low")
