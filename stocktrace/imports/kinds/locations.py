"""Locations: a row per location of a site. A parent is a location of the same site that exists already or
comes on an earlier line. An existing location (same site and code) is updated: an empty cell leaves the
field as it is; moving it under another parent is refused (use Move, which rewrites the subtree). The
catalog checks each batch with its own rules (`location_batch_check`) and writes it (`location_save_bulk`);
this module reads the cells and finds what only a file can have wrong (a location or barcode twice in it)."""

from stocktrace.imports import fields
from stocktrace.imports.engine import Importer, Row
from stocktrace.imports.hashset import HashSet
from stocktrace.inventory.models import Location
from stocktrace.inventory.rules import location_kind_check
from stocktrace.inventory.services.catalog import (
    LocationBatch,
    LocationRow,
    location_batch_check,
    location_save_bulk,
)
from stocktrace.tenancy.models import Site

COLUMNS = {"site": "site_code"}  # the catalog's field names that are not the file's columns


def _kind(value, column: str) -> str:
    result = fields.text(value).lower()
    return location_kind_check(result) if result else ""


class LocationsImporter(Importer):
    kind = "locations"
    columns = ("site_code", "code", "kind", "name", "parent_code", "barcode")
    required = ("site_code", "code")
    filled = (Location,)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sites = {site.code: site for site in Site.objects.for_org(self.organization)}
        self.defined = HashSet()  # (site id, code) of every location of the file so far
        self.barcodes_seen = HashSet()
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}
        self.batch: LocationBatch | None = None  # the last batch checked, written by `write`

    def parse(self, row: Row) -> None:
        site_code = self.cell(row, "site_code", fields.limited, 32)
        code = self.cell(row, "code", fields.code)
        self.require(row, "site_code", site_code)
        self.require(row, "code", code)
        site = self.sites.get(site_code) if site_code else None
        if site_code and site is None:
            row.errors.append(("site_code", f"unknown site {site_code}"))
        data = row.data
        data["site"] = site
        data["code"] = code
        data["kind"] = self.cell(row, "kind", _kind)
        data["name"] = self.cell(row, "name", fields.limited, 150)
        data["parent_code"] = parent = self.cell(row, "parent_code", fields.code)
        data["barcode"] = self.cell(row, "barcode", fields.code)
        data["parent_in_file"] = False
        if site is None or not code:
            return
        if parent:
            data["parent_in_file"] = (site.pk, parent) in self.defined
        data["repeated"] = self.defined.add((site.pk, code))
        if data["repeated"]:
            row.errors.append(("code", f"location {code} of site {site.code} appears more than once in the file"))

    def check(self, rows: list[Row]) -> None:
        keyed = [r for r in rows if r.data["site"] is not None and r.data["code"]]
        self.batch = batch = location_batch_check(actor=self.actor, lock=self.writing, rows=[
            LocationRow(site=d["site"], code=d["code"], kind=d["kind"] or None, name=d["name"] or None,
                        parent_code=d["parent_code"] or "", barcode=d["barcode"] or "",
                        parent_earlier=d["parent_in_file"])
            for d in (r.data for r in keyed)])
        for n, row in enumerate(keyed):
            problems = batch.problems.get(n, [])
            barcode = batch.barcodes[n]
            # Before the catalog's problems: its own "given twice" sees this batch only.
            if barcode and self.barcodes_seen.add(barcode) and not row.data["repeated"]:
                row.errors.append(("barcode", f"barcode {barcode} appears more than once in the file"))
            for name, reason in problems:
                column = COLUMNS.get(name, name)
                if not any(c == column for c, _ in row.errors):  # a cell refused already says enough
                    row.errors.append((column, reason))

    def write(self, rows: list[Row]) -> None:
        assert self.batch is not None and len(self.batch.rows) == len(rows), "write() follows check() on the rows"
        counts = location_save_bulk(actor=self.actor, batch=self.batch, audit_action=None)
        for name, count in counts.items():
            self.counts[name] += count
