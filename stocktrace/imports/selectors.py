from collections.abc import Callable, Generator
from typing import Any

from django.db.models import QuerySet

from stocktrace.core.errors import InvalidInput, NotFound
from stocktrace.imports.models import ImportRun
from stocktrace.imports.permissions import INVENTORY_IMPORT
from stocktrace.inventory.models import Item, Location, OnHand
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization

CHUNK = 2000

EXPORT_COLUMNS = {
    "items": ("sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry",
              "barcodes"),
    "locations": ("site_code", "code", "kind", "name", "parent_code", "barcode"),
    "stock": ("site_code", "location_code", "sku", "quantity", "lot", "expires_on", "unit_cost"),
}


def import_runs_of(*, actor: Actor) -> QuerySet[ImportRun]:
    actor.require(INVENTORY_IMPORT)
    return ImportRun.objects.for_org(actor.organization)


def import_run_get(*, actor: Actor, run_id: int) -> ImportRun:
    run = import_runs_of(actor=actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such import")
    return run


# Read as they are written out: a generator, so a writer that stops early can close it (and its cursor).
Rows = Generator[tuple[Any, ...], None, None]


def _items(org: Organization) -> Rows:
    items = (Item.objects.for_org(org).filter(archived_at__isnull=True).order_by("pk")
             .prefetch_related("barcodes").iterator(chunk_size=CHUNK))
    for item in items:
        codes = sorted(item.barcodes.all(), key=lambda b: b.pk)
        yield (item.sku, item.name, item.unit, item.unit_cost, item.min_level, item.max_level, item.tracks_lots,
               item.tracks_expiry, "|".join(b.code for b in codes))


def _locations(org: Organization) -> Rows:
    # A parent's path is a prefix of its children's, so ordering by path puts every parent first: the
    # file imports again as it is.
    locations = (Location.objects.for_org(org).filter(archived_at__isnull=True).order_by("path", "pk")
                 .values_list("site__code", "code", "kind", "name", "parent__code", "barcode")
                 .iterator(chunk_size=CHUNK))
    for site_code, code, kind, name, parent_code, barcode in locations:
        yield site_code, code, kind, name, parent_code or "", barcode


def _stock(org: Organization) -> Rows:
    rows = (OnHand.objects.for_org(org).exclude(quantity=0).order_by("pk")
            .values_list("site__code", "location__code", "item__sku", "quantity", "lot", "expires_on",
                         "item__unit_cost")
            .iterator(chunk_size=CHUNK))
    yield from rows


def export_rows(*, actor: Actor, kind: str) -> tuple[tuple[str, ...], Rows]:
    """The columns of an export and its rows, read in chunks: items and locations as they would be
    imported, stock as opening stock (non-zero on-hand)."""
    actor.require(INVENTORY_IMPORT)
    readers: dict[str, Callable[[Organization], Rows]] = {
        "items": _items, "locations": _locations, "stock": _stock}
    if kind not in readers:
        raise InvalidInput(f"kind is one of {', '.join(readers)}", field="kind")
    return EXPORT_COLUMNS[kind], readers[kind](actor.organization)
