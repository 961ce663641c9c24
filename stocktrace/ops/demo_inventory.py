"""Demo inventory: location trees with a few thousand bins, ~10,000 items with EAN-13 barcodes, stock
in the ledger and the alerts it raises. Written through inventory's bulk entry points (the ones imports use:
a service call per row would take minutes), so the demo obeys the same rules and leaves the ledger and
on-hand equal for `stocktrace preflight`."""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.inventory.barcodes import classify, gs1_check_digit, scan_key
from stocktrace.inventory.models import Item, Location
from stocktrace.inventory.services.alerts import alerts_expiry_scan
from stocktrace.inventory.services.catalog import (
    ItemRow,
    LocationRow,
    item_batch_check,
    item_save_bulk,
    location_batch_check,
    location_save_bulk,
)
from stocktrace.inventory.services.ledger import Receipt, stock_receive_bulk
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site

BATCH = 2000

ADJECTIVES = ["Steel", "Brass", "Nylon", "Heavy", "Light", "Blue", "Red", "Compact", "Long", "Short", "Sealed",
              "Coated", "Large", "Small", "Industrial", "Organic", "Fresh", "Frozen", "Premium", "Basic"]
NOUNS = ["bolt", "washer", "bracket", "hinge", "cable", "filter", "valve", "gasket", "sensor", "pallet wrap",
         "tape", "glove", "carton", "label roll", "battery", "bearing", "coupling", "clamp", "yoghurt", "juice"]
UNITS = ["ea", "ea", "ea", "box", "kg", "m", "l"]


def _ean13(n: int) -> str:
    body = f"20{n:010d}"  # GS1 prefix 20–29: for internal use, never clashes with real products
    return body + str(gs1_check_digit(body))


def _tree(actor: Actor, site: Site) -> list[Location]:
    """Zones A–D, aisles 01–10, racks R1–R5, bins 1–4: 800 bins per site. Returns the bins."""
    rows: list[LocationRow] = []
    parents: list[str] = [""]
    for kind, names in [("zone", "ABCD"), ("aisle", [f"{n:02d}" for n in range(1, 11)]),
                        ("rack", [f"R{n}" for n in range(1, 6)]), ("bin", "1234")]:
        level = []
        for parent in parents:
            for name in names:
                code = f"{parent}-{name}" if parent else name
                rows.append(LocationRow(site=site, code=code, kind=kind, parent_code=parent))
                level.append(code)
        parents = level
    location_save_bulk(actor=actor, batch=location_batch_check(actor=actor, rows=rows, lock=True), audit_action=None)
    return list(Location.objects.for_org(actor.organization).filter(site=site, kind="bin").select_related("site"))


def _catalogue(actor: Actor, rng: random.Random, items: int) -> list[Item]:
    rows = []
    for n in range(1, items + 1):
        with_levels = rng.random() < 0.2
        low = Decimal(rng.randint(5, 40)) if with_levels else None
        code, kind = classify(_ean13(n))
        rows.append(ItemRow(
            sku=f"SKU-{n:05d}", name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n}", unit=rng.choice(UNITS),
            unit_cost=Decimal(rng.randint(5, 50_000)) / 100, min_level=low,
            max_level=low * 10 if low is not None else None, tracks_lots=n % 10 == 0, tracks_expiry=n % 10 == 0,
            barcodes=[(code, kind, scan_key(code))]))
    for start in range(0, len(rows), BATCH):
        batch = item_batch_check(actor=actor, rows=rows[start:start + BATCH], lock=True)
        item_save_bulk(actor=actor, batch=batch, audit_action=None)
    return list(Item.objects.for_org(actor.organization).order_by("pk"))


@transaction.atomic
def demo_inventory_load(*, organization: Organization, sites: list[Site], items: int = 10_000,
                        seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    actor = Actor.system(organization, device="demo")
    bins_by_site = {site.pk: _tree(actor, site) for site in sites}
    catalogue = _catalogue(actor, rng, items)
    today = timezone.localdate()
    receipts = []
    for item in catalogue:
        if rng.random() < 0.35:
            continue  # not every item is in stock
        site = rng.choice(sites)
        for location in rng.sample(bins_by_site[site.pk], rng.randint(1, 3)):
            quantity = Decimal(rng.randint(1, 400))
            if item.min_level is not None and rng.random() < 0.3:
                quantity = Decimal(rng.randint(1, int(item.min_level)))  # some run low
            lot = f"L{rng.randint(1000, 9999)}" if item.tracks_lots else ""
            expires = today + timedelta(days=rng.choice([-3, 5, 20, 120, 365])) if item.tracks_expiry else None
            receipts.append(Receipt(item=item, location=location, quantity=quantity, lot=lot, expires_on=expires))
    received = stock_receive_bulk(actor=actor, receipts=receipts, reason="opening stock", reference="DEMO",
                                  audit_action=None)
    expiry = alerts_expiry_scan(organization=organization)
    summary = {"locations": sum(len(b) for b in bins_by_site.values()), "items": len(catalogue),
               "stock_rows": received.movements, **expiry}
    audit_record(actor=actor, action="demo.inventory_load", obj=organization, after=summary)
    return summary
