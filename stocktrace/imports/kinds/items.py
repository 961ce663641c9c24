"""Items: a row per SKU. A new SKU is created, an existing one updated; on an update an empty cell leaves
the field as it is. Barcodes listed are added to the item (the item's other barcodes stay)."""

from django.utils import timezone

from stocktrace.core.errors import InvalidInput
from stocktrace.imports import fields
from stocktrace.imports.bulk import insert_rows
from stocktrace.imports.engine import Importer, Row
from stocktrace.imports.hashset import HashSet
from stocktrace.inventory.barcodes import classify, scan_key, taken
from stocktrace.inventory.models import Item, ItemBarcode

UPDATABLE = ("name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry")
DEFAULTS = {"unit": "ea", "unit_cost": 0, "min_level": None, "max_level": None, "tracks_lots": False,
            "tracks_expiry": False}


def _barcodes(value, column: str) -> list[tuple[str, str, str]]:
    """(code, kind, scan key) of each barcode of a cell; another form of a GTIN listed before is dropped."""
    result, seen = [], set()
    for part in fields.text(value).split("|"):
        part = part.strip()
        if not part or scan_key(part) in seen:
            continue
        try:
            code, kind = classify(part)
        except InvalidInput as error:
            raise InvalidInput(f"{part}: {error.detail}", field=column) from error
        result.append((code, kind, scan_key(code)))
        seen.add(result[-1][2])
    return result


class ItemsImporter(Importer):
    kind = "items"
    columns = ("sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry",
               "barcodes")
    required = ("sku", "name")
    filled = (Item, ItemBarcode)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.skus_seen = HashSet()
        self.barcodes_seen = HashSet()
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "barcodes_added": 0}
        self.existing: dict[str, Item] = {}
        self.owners: dict[str, tuple[str, str]] = {}

    def parse(self, row: Row) -> None:
        sku = self.cell(row, "sku", fields.code)
        name = self.cell(row, "name", fields.limited, 200)
        self.require(row, "sku", sku)
        self.require(row, "name", name)
        data = row.data
        data["sku"] = sku
        data["name"] = name
        data["unit"] = self.cell(row, "unit", fields.limited, 16) or None
        data["unit_cost"] = self.cell(row, "unit_cost", fields.cost)
        data["min_level"] = self.cell(row, "min_level", fields.qty)
        data["max_level"] = self.cell(row, "max_level", fields.qty)
        data["tracks_lots"] = self.cell(row, "tracks_lots", fields.flag)
        data["tracks_expiry"] = self.cell(row, "tracks_expiry", fields.flag)
        data["barcodes"] = self.cell(row, "barcodes", _barcodes) or []
        if sku and self.skus_seen.add(sku):
            row.errors.append(("sku", f"SKU {sku} appears more than once in the file"))
        for barcode, _, key in data["barcodes"]:
            if self.barcodes_seen.add(key):
                same = f" (as GTIN {key})" if key != barcode else ""
                row.errors.append(("barcodes", f"barcode {barcode} appears more than once in the file{same}"))

    def check(self, rows: list[Row]) -> None:
        org = self.organization
        skus = [r.data["sku"] for r in rows if r.data["sku"]]
        items = Item.objects.filter(organization=org, sku__any=skus)
        if self.writing:
            items = items.select_for_update().order_by("pk")
        self.existing = {item.sku: item for item in items}
        keys = [key for r in rows for _, _, key in r.data["barcodes"]]
        self.owners = self._owners(keys) if keys else {}
        for row in rows:
            data = row.data
            current = self.existing.get(data["sku"])
            low = data["min_level"] if data["min_level"] is not None else (current.min_level if current else None)
            high = data["max_level"] if data["max_level"] is not None else (current.max_level if current else None)
            if low is not None and high is not None and low > high and not any(
                    c in ("min_level", "max_level") for c, _ in row.errors):
                row.errors.append(("min_level", f"the minimum level ({low}) is above the maximum ({high})"))
            for barcode, _, key in data["barcodes"]:
                owner = self.owners.get(key)
                if owner is not None and owner[1] != data["sku"]:
                    row.errors.append(("barcodes", f"barcode {taken(barcode, *owner)}"))

    def _owners(self, keys: list[str]) -> dict[str, tuple[str, str]]:
        """The barcode (as stored) and SKU that each of these scan keys belongs to already. Two indexed
        lookups rather than a join: inside a big import's transaction the planner has no statistics for the
        rows just written, and a join planned as a hash join would scan every item once per batch."""
        found = list(ItemBarcode.objects.filter(organization=self.organization, scan_key__any=keys)
                     .values_list("scan_key", "code", "item_id"))
        if not found:
            return {}
        sku_of = dict(Item.objects.filter(pk__any={item_id for _, _, item_id in found}).values_list("pk", "sku"))
        return {key: (code, sku_of[item_id]) for key, code, item_id in found}

    def write(self, rows: list[Row]) -> None:
        org = self.organization
        now = timezone.now()
        created, updated, pairs = [], [], []
        for row in rows:
            data = row.data
            item = self.existing.get(data["sku"])
            if item is None:
                values = {f: data[f] if data[f] is not None else DEFAULTS[f] for f in UPDATABLE if f != "name"}
                created.append({"organization_id": org.pk, "sku": data["sku"], "name": data["name"], **values,
                                "created_at": now})
            else:
                changed = False
                for name in UPDATABLE:
                    value = data[name]
                    if value is not None and getattr(item, name) != value:
                        setattr(item, name, value)
                        changed = True
                if changed:
                    updated.append(item)
                else:
                    self.counts["unchanged"] += 1
            if data["barcodes"]:
                pairs.append((data["sku"], data["barcodes"]))
        insert_rows(Item, created)
        if updated:
            Item.objects.bulk_update(updated, UPDATABLE)
        new_codes = [(sku, code, kind, key) for sku, codes in pairs for code, kind, key in codes
                     if key not in self.owners]
        if new_codes:
            ids = {item.sku: item.pk for item in self.existing.values()}
            missing = [sku for sku, _, _, _ in new_codes if sku not in ids]
            if missing:
                ids.update(Item.objects.filter(organization=org, sku__any=missing).values_list("sku", "pk"))
            insert_rows(ItemBarcode, [{"organization_id": org.pk, "item_id": ids[sku], "code": code, "kind": kind,
                                       "scan_key": key} for sku, code, kind, key in new_codes])
        self.counts["created"] += len(created)
        self.counts["updated"] += len(updated)
        self.counts["barcodes_added"] += len(new_codes)
