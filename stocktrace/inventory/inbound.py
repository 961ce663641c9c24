"""The pushes inventory accepts from integrations (see stocktrace/events/inbound.py for the contract)."""

from datetime import date

from stocktrace.core.errors import DomainError
from stocktrace.events.inbound import PayloadRejected, inbound_handler
from stocktrace.inventory.barcodes import scan_key
from stocktrace.inventory.models import Item, Location
from stocktrace.inventory.services.catalog import item_barcode_add, item_create, item_update
from stocktrace.inventory.services.ledger import stock_receive
from stocktrace.tenancy.actor import Actor


def _lookup(model_query, value, what: str, index: int):
    found = model_query.filter(**value).first()
    if found is None:
        raise PayloadRejected(f"{what}[{index}]: no such {', '.join(f'{k}={v!r}' for k, v in value.items())}")
    return found


@inbound_handler("item.upsert")
def item_upsert(*, organization, payload) -> dict:
    """{"items": [{"sku": …, "name": …, "unit": …, "unit_cost": "1.25", "min_level": …, "max_level": …,
    "tracks_lots": false, "tracks_expiry": false, "barcodes": ["4006381333931"]}, …]}: the item master from
    an ERP. New SKUs are created; for known ones the given fields change and new barcodes are added."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise PayloadRejected('expected {"items": [{"sku": …, "name": …}, …]}')
    actor = Actor.system(organization, device="webhook:item.upsert")
    summary: dict[str, list[str]] = {"created": [], "updated": []}
    fields = ("name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry")
    for index, entry in enumerate(items):
        if not isinstance(entry, dict) or not isinstance(entry.get("sku"), str):
            raise PayloadRejected(f"items[{index}] needs a string sku")
        barcodes = entry.get("barcodes", [])
        if not isinstance(barcodes, list) or not all(isinstance(b, str) for b in barcodes):
            raise PayloadRejected(f"items[{index}].barcodes must be a list of strings")
        changes = {key: entry[key] for key in fields if key in entry}
        try:
            item = Item.objects.for_org(organization).filter(sku=entry["sku"].strip()).first()
            if item is None:
                if not isinstance(entry.get("name"), str):
                    raise PayloadRejected(f"items[{index}] is a new SKU and needs a name")
                item_create(actor=actor, sku=entry["sku"], barcodes=barcodes, **changes)
                summary["created"].append(entry["sku"])
                continue
            item_update(actor=actor, item=item, **changes)
            known = set(item.barcodes.values_list("code", flat=True))
            for code in barcodes:
                if code.strip() not in known:
                    item_barcode_add(actor=actor, item=item, code=code)
            summary["updated"].append(entry["sku"])
        except DomainError as error:
            raise PayloadRejected(f"items[{index}]: {error.detail}") from error
    return summary


@inbound_handler("stock.receipt", repeatable=False)
def stock_receipt(*, organization, payload) -> dict:
    """{"receipts": [{"location": "<location barcode>", "sku": … or "barcode": …, "quantity": "12.5",
    "lot": …, "expires_on": "2030-01-31", "unit_cost": …, "reference": "ASN-1"}, …]}: goods received,
    e.g. from a WMS or an advance shipping notice. All lines or none."""
    lines = payload.get("receipts") if isinstance(payload, dict) else None
    if not isinstance(lines, list) or not lines:
        raise PayloadRejected('expected {"receipts": [{"location": …, "sku": …, "quantity": …}, …]}')
    actor = Actor.system(organization, device="webhook:stock.receipt")
    posted = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict) or not isinstance(line.get("location"), str):
            raise PayloadRejected(f"receipts[{index}] needs a location barcode")
        location = _lookup(Location.objects.for_org(organization), {"barcode": line["location"]}, "receipts", index)
        if isinstance(line.get("barcode"), str):
            # Any form of a GTIN finds it (a UPC-A sent as 13 digits), as a scan does.
            item = _lookup(Item.objects.for_org(organization), {"barcodes__scan_key": scan_key(line["barcode"])},
                           "receipts", index)
        elif isinstance(line.get("sku"), str):
            item = _lookup(Item.objects.for_org(organization), {"sku": line["sku"]}, "receipts", index)
        else:
            raise PayloadRejected(f"receipts[{index}] needs the item's sku or barcode")
        try:
            expires_on = date.fromisoformat(line["expires_on"]) if line.get("expires_on") else None
            movement = stock_receive(actor=actor, item=item, location=location, quantity_received=line.get("quantity"),
                                     lot=str(line.get("lot") or ""), expires_on=expires_on,
                                     unit_cost=line.get("unit_cost"), reference=str(line.get("reference") or ""),
                                     reason="webhook receipt")
        except (DomainError, ValueError, TypeError) as error:
            raise PayloadRejected(f"receipts[{index}]: {getattr(error, 'detail', error)}") from error
        posted.append({"sku": item.sku, "location": location.barcode, "quantity": str(movement.quantity)})
    return {"received": posted}
