"""Items: a row per SKU. A new SKU is created, an existing one updated; on an update an empty cell leaves
the field as it is. Barcodes listed are added to the item (the item's other barcodes stay)."""

from stocktrace.core.errors import InvalidInput
from stocktrace.imports import fields
from stocktrace.imports.engine import Importer, Row
from stocktrace.inventory.barcodes import classify
from stocktrace.inventory.models import Item, ItemBarcode

UPDATABLE = ("name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry")
DEFAULTS = {"unit": "ea", "unit_cost": 0, "min_level": None, "max_level": None, "tracks_lots": False,
            "tracks_expiry": False}


def _barcodes(value, column: str) -> list[tuple[str, str]]:
    result, seen = [], set()
    for part in fields.text(value).split("|"):
        part = part.strip()
        if not part or part in seen:
            continue
        try:
            result.append(classify(part))
        except InvalidInput as error:
            raise InvalidInput(f"{part}: {error.detail}", field=column) from error
        seen.add(part)
    return result


class ItemsImporter(Importer):
    kind = "items"
    columns = ("sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry",
               "barcodes")
    required = ("sku", "name")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Hashes, not the strings: a million SKUs cost ~70 MB this way. Two different SKUs sharing a
        # 64-bit hash would be reported as a duplicate; the odds for a million rows are ~1 in 10^7.
        self.skus_seen: set[int] = set()
        self.barcodes_seen: set[int] = set()
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "barcodes_added": 0}
        self.existing: dict[str, Item] = {}
        self.owners: dict[str, str] = {}

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
        if sku:
            key = hash(sku)
            if key in self.skus_seen:
                row.errors.append(("sku", f"SKU {sku} appears more than once in the file"))
            self.skus_seen.add(key)
        for barcode, _ in data["barcodes"]:
            key = hash(barcode)
            if key in self.barcodes_seen:
                row.errors.append(("barcodes", f"barcode {barcode} appears more than once in the file"))
            self.barcodes_seen.add(key)

    def check(self, rows: list[Row]) -> None:
        org = self.organization
        skus = [r.data["sku"] for r in rows if r.data["sku"]]
        items = Item.objects.filter(organization=org, sku__in=skus)
        if self.writing:
            items = items.select_for_update().order_by("pk")
        self.existing = {item.sku: item for item in items}
        codes = [code for r in rows for code, _ in r.data["barcodes"]]
        self.owners = dict(ItemBarcode.objects.filter(organization=org, code__in=codes)
                           .values_list("code", "item__sku")) if codes else {}
        for row in rows:
            data = row.data
            current = self.existing.get(data["sku"])
            low = data["min_level"] if data["min_level"] is not None else (current.min_level if current else None)
            high = data["max_level"] if data["max_level"] is not None else (current.max_level if current else None)
            if low is not None and high is not None and low > high and not any(
                    c in ("min_level", "max_level") for c, _ in row.errors):
                row.errors.append(("min_level", f"the minimum level ({low}) is above the maximum ({high})"))
            for barcode, _ in data["barcodes"]:
                owner = self.owners.get(barcode)
                if owner is not None and owner != data["sku"]:
                    row.errors.append(("barcodes", f"barcode {barcode} belongs to item {owner}"))

    def write(self, rows: list[Row]) -> None:
        org = self.organization
        created, updated, pairs = [], [], []
        for row in rows:
            data = row.data
            item = self.existing.get(data["sku"])
            if item is None:
                values = {f: data[f] if data[f] is not None else DEFAULTS[f] for f in UPDATABLE if f != "name"}
                item = Item(organization=org, sku=data["sku"], name=data["name"], **values)
                created.append(item)
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
            pairs.append((item, data["barcodes"]))
        Item.objects.bulk_create(created)
        if updated:
            Item.objects.bulk_update(updated, UPDATABLE)
        barcodes = [ItemBarcode(organization=org, item=item, code=code, kind=kind)
                    for item, codes in pairs for code, kind in codes if code not in self.owners]
        ItemBarcode.objects.bulk_create(barcodes)
        self.counts["created"] += len(created)
        self.counts["updated"] += len(updated)
        self.counts["barcodes_added"] += len(barcodes)
