"""Locations: a row per location of a site. A parent is a location of the same site that exists already or
comes on an earlier line. An existing location (same site and code) is updated: an empty cell leaves the
field as it is; moving it under another parent is refused (use Move, which rewrites the subtree)."""

from stocktrace.core.errors import InvalidInput
from stocktrace.imports import fields
from stocktrace.imports.engine import Importer, Row
from stocktrace.imports.hashset import HashSet
from stocktrace.inventory.models import Location
from stocktrace.tenancy.models import Site

KINDS = tuple(Location.Kind.values)


def _kind(value, column: str) -> str:
    result = fields.text(value).lower()
    if result and result not in KINDS:
        raise InvalidInput(f"{result!r} is not a kind; the kinds are {', '.join(KINDS)}", field=column)
    return result


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
        self.existing: dict[tuple[int, str], Location] = {}
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}

    def parse(self, row: Row) -> None:
        site_code = self.cell(row, "site_code", fields.limited, 32)
        code = self.cell(row, "code", fields.code)
        self.require(row, "site_code", site_code)
        self.require(row, "code", code)
        site = self.sites.get(site_code) if site_code else None
        if site_code and site is None:
            row.errors.append(("site_code", f"unknown site {site_code}"))
        elif site is not None and site.archived_at:
            row.errors.append(("site_code", f"site {site_code} is archived"))
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
            if parent == code:
                row.errors.append(("parent_code", "a location cannot be its own parent"))
            data["parent_in_file"] = (site.pk, parent) in self.defined
        data["repeated"] = self.defined.add((site.pk, code))
        if data["repeated"]:
            row.errors.append(("code", f"location {code} of site {site.code} appears more than once in the file"))

    def _barcode_of(self, data: dict) -> str:
        if data["barcode"]:
            return data["barcode"]
        current = self.existing.get((data["site"].pk, data["code"]))
        return current.barcode if current else f"{data['site'].code}-{data['code']}".upper()

    def check(self, rows: list[Row]) -> None:
        org = self.organization
        keyed = [r for r in rows if r.data["site"] is not None and r.data["code"]]
        site_ids = {r.data["site"].pk for r in keyed}
        codes = {r.data["code"] for r in keyed} | {r.data["parent_code"] for r in keyed if r.data["parent_code"]}
        found = (Location.objects.filter(organization=org, site_id__any=site_ids, code__any=codes)
                 .select_related("parent"))
        if self.writing:
            found = found.select_for_update(of=("self",)).order_by("pk")
        known = {(loc.site_id, loc.code): loc for loc in found}
        self.existing = {}
        for row in keyed:
            data = row.data
            site = data["site"]
            current = known.get((site.pk, data["code"]))
            if current is not None:
                self.existing[(site.pk, data["code"])] = current
            parent = data["parent_code"]
            if parent and parent != data["code"]:
                parent_row = known.get((site.pk, parent))
                if parent_row is None and not data["parent_in_file"]:
                    row.errors.append(("parent_code", f"no location {parent} in site {site.code}, "
                                                      "nor on an earlier line of the file"))
                elif parent_row is not None and parent_row.archived_at:
                    row.errors.append(("parent_code", f"location {parent} is archived"))
            if current is not None:
                if current.archived_at:
                    row.errors.append(("code", f"location {current.code} is archived"))
                if parent and (current.parent.code if current.parent else "") != parent:
                    where = f"under {current.parent.code}" if current.parent else "at the top of the site"
                    row.errors.append(("parent_code", f"location {current.code} exists {where}; an import "
                                                      "does not move locations (use Move)"))
            barcode = self._barcode_of(data)
            data["effective_barcode"] = barcode
            if len(barcode) > 64:
                row.errors.append(("barcode", f"the generated barcode {barcode} is longer than 64 characters; "
                                              "give one"))
                continue
            if self.barcodes_seen.add(barcode) and not data.get("repeated"):
                row.errors.append(("barcode", f"barcode {barcode} appears more than once in the file"))
        barcodes = [r.data["effective_barcode"] for r in keyed if "effective_barcode" in r.data]
        holders: dict[str | None, tuple[int, str]]  # looked up with rows that may have no barcode
        holders = {b: (s, c) for b, s, c in Location.objects.filter(organization=org, barcode__any=barcodes)
                   .values_list("barcode", "site_id", "code")}
        for row in keyed:
            holder = holders.get(row.data.get("effective_barcode"))
            if holder is not None and holder != (row.data["site"].pk, row.data["code"]):
                row.errors.append(("barcode", f"barcode {row.data['effective_barcode']} belongs to location "
                                              f"{holder[1]}"))

    def write(self, rows: list[Row]) -> None:
        org = self.organization
        parent_keys = {(r.data["site"].pk, r.data["parent_code"]) for r in rows if r.data["parent_code"]}
        placed = {}  # (site id, code) -> (pk, path) of the parents this batch needs
        if parent_keys:
            for loc in Location.objects.filter(organization=org, site_id__any={s for s, _ in parent_keys},
                                               code__any={c for _, c in parent_keys}).only("pk", "site_id",
                                                                                          "code", "path"):
                placed[(loc.site_id, loc.code)] = (loc.pk, loc.path)
        pending: list[tuple[Location, str]] = []
        pending_keys: set[tuple[int, str]] = set()
        changed: list[Location] = []

        def flush() -> None:
            Location.objects.bulk_create([loc for loc, _ in pending])
            for loc, parent_path in pending:
                loc.path = f"{parent_path}{loc.pk}/"
                placed[(loc.site_id, loc.code)] = (loc.pk, loc.path)
            Location.objects.bulk_update([loc for loc, _ in pending], ["path"])
            self.counts["created"] += len(pending)
            pending.clear()
            pending_keys.clear()

        for row in rows:
            data = row.data
            site = data["site"]
            current = self.existing.get((site.pk, data["code"]))
            if current is not None:
                before = (current.kind, current.name, current.barcode)
                current.kind = data["kind"] or current.kind
                current.name = data["name"] or current.name
                current.barcode = data["effective_barcode"]
                if (current.kind, current.name, current.barcode) != before:
                    changed.append(current)
                else:
                    self.counts["unchanged"] += 1
                continue
            parent_id, parent_path = None, "/"
            if data["parent_code"]:
                parent_key = (site.pk, data["parent_code"])
                if parent_key in pending_keys:  # its parent is on an earlier line of this very batch
                    flush()
                parent_id, parent_path = placed[parent_key]
            pending.append((Location(organization=org, site=site, parent_id=parent_id, code=data["code"],
                                     kind=data["kind"] or Location.Kind.BIN, name=data["name"] or "",
                                     barcode=data["effective_barcode"], path="/"), parent_path))
            pending_keys.add((site.pk, data["code"]))
        if pending:
            flush()
        if changed:
            Location.objects.bulk_update(changed, ["kind", "name", "barcode"])
        self.counts["updated"] += len(changed)
