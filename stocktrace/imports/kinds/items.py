"""Items: a row per SKU. A new SKU is created, an existing one updated; on an update an empty cell leaves
the field as it is. Barcodes listed are added to the item (the item's other barcodes stay). The catalog
checks each batch with its own rules (`item_batch_check`) and writes it (`item_save_bulk`); this module
reads the cells and finds what only a file can have wrong (a SKU or barcode twice in it)."""

from stocktrace.core.errors import InvalidInput
from stocktrace.imports import fields
from stocktrace.imports.engine import Importer, Row
from stocktrace.imports.hashset import HashSet
from stocktrace.inventory.barcodes import classify, scan_key
from stocktrace.inventory.models import Item, ItemBarcode
from stocktrace.inventory.services.catalog import ItemBatch, ItemRow, item_batch_check, item_save_bulk


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
        self.batch: ItemBatch | None = None  # the last batch checked, written by `write`

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
        items = [ItemRow(sku=d["sku"] or "", name=d["name"] or "", unit=d["unit"], unit_cost=d["unit_cost"],
                         min_level=d["min_level"], max_level=d["max_level"], tracks_lots=d["tracks_lots"],
                         tracks_expiry=d["tracks_expiry"], barcodes=d["barcodes"])
                 for d in (r.data for r in rows)]
        self.batch = item_batch_check(actor=self.actor, rows=items, lock=self.writing)
        for n, problems in self.batch.problems.items():
            row = rows[n]
            for column, reason in problems:
                # A cell refused already (its value unread) says enough; so do levels not both read.
                refused = ("min_level", "max_level") if column in ("min_level", "max_level") else (column,)
                if not any(c in refused for c, _ in row.errors):
                    row.errors.append((column, reason))

    def write(self, rows: list[Row]) -> None:
        assert self.batch is not None, "write() follows check() on the same rows"
        counts = item_save_bulk(actor=self.actor, batch=self.batch, audit_action=None)
        for name, count in counts.items():
            self.counts[name] += count
