"""Demo inventory: location trees with a few thousand bins, ~10,000 items with EAN-13 barcodes, stock
in the ledger and the alerts it raises. Bulk-inserted (a service call per row would take minutes), with
the ledger and on-hand written together so `stocktrace preflight` finds no drift."""

import random
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.inventory.barcodes import gs1_check_digit
from stocktrace.inventory.models import Item, ItemBarcode, Location, OnHand, StockMovement
from stocktrace.inventory.services.alerts import alerts_expiry_scan, level_alerts_check
from stocktrace.tenancy.actor import Actor

ADJECTIVES = ["Steel", "Brass", "Nylon", "Heavy", "Light", "Blue", "Red", "Compact", "Long", "Short", "Sealed",
              "Coated", "Large", "Small", "Industrial", "Organic", "Fresh", "Frozen", "Premium", "Basic"]
NOUNS = ["bolt", "washer", "bracket", "hinge", "cable", "filter", "valve", "gasket", "sensor", "pallet wrap",
         "tape", "glove", "carton", "label roll", "battery", "bearing", "coupling", "clamp", "yoghurt", "juice"]
UNITS = ["ea", "ea", "ea", "box", "kg", "m", "l"]


def _ean13(n: int) -> str:
    body = f"20{n:010d}"  # GS1 prefix 20–29: for internal use, never clashes with real products
    return body + str(gs1_check_digit(body))


def _tree(org, site, rng) -> list[Location]:
    """Zones A–D, aisles 01–10, racks R1–R5, bins 1–4: 800 bins per site."""
    locations: list[Location] = []
    level: Sequence[Location | None] = [None]
    for kind, names in [("zone", "ABCD"), ("aisle", [f"{n:02d}" for n in range(1, 11)]),
                        ("rack", [f"R{n}" for n in range(1, 6)]), ("bin", "1234")]:
        batch = []
        for parent in level:
            for name in names:
                code = f"{parent.code}-{name}" if parent else name
                batch.append(Location(organization=org, site=site, parent=parent, kind=kind, code=code,
                                      barcode=f"{site.code}-{code}", path="/"))
        Location.objects.bulk_create(batch)
        for location in batch:
            location.path = f"{location.parent.path if location.parent else '/'}{location.pk}/"
        Location.objects.bulk_update(batch, ["path"])
        locations += batch
        level = batch
    return locations


@transaction.atomic
def demo_inventory_load(*, organization, sites, items: int = 10_000, seed: int = 7) -> dict:
    rng = random.Random(seed)
    actor = Actor.system(organization, device="demo")
    bins_by_site = {site.pk: [loc for loc in _tree(organization, site, rng) if loc.kind == "bin"] for site in sites}
    catalogue = []
    for n in range(1, items + 1):
        with_levels = rng.random() < 0.2
        low = Decimal(rng.randint(5, 40)) if with_levels else None
        catalogue.append(Item(
            organization=organization, sku=f"SKU-{n:05d}", name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n}",
            unit=rng.choice(UNITS), unit_cost=Decimal(rng.randint(5, 50_000)) / 100, min_level=low,
            max_level=low * 10 if low is not None else None, tracks_lots=n % 10 == 0, tracks_expiry=n % 10 == 0))
    Item.objects.bulk_create(catalogue, batch_size=2000)
    ItemBarcode.objects.bulk_create([ItemBarcode(organization=organization, item=item, code=_ean13(i), kind="ean13")
                                     for i, item in enumerate(catalogue, start=1)], batch_size=2000)
    today = timezone.localdate()
    on_hand, movements = [], []
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
            on_hand.append(OnHand(organization=organization, item=item, location=location, site=site, lot=lot,
                                  expires_on=expires, quantity=quantity))
            movements.append(StockMovement(organization=organization, item=item, location=location, site=site,
                                           lot=lot, expires_on=expires, kind=StockMovement.Kind.RECEIPT,
                                           quantity=quantity, unit_cost=item.unit_cost, reason="opening stock",
                                           reference="DEMO"))
    OnHand.objects.bulk_create(on_hand, batch_size=2000)
    StockMovement.objects.bulk_create(movements, batch_size=2000)
    level_alerts_check(organization=organization,
                      pairs={(row.item, row.site_id) for row in on_hand if row.item.min_level is not None})
    expiry = alerts_expiry_scan(organization=organization)
    summary = {"locations": sum(len(b) for b in bins_by_site.values()), "items": len(catalogue),
               "stock_rows": len(on_hand), **expiry}
    audit_record(actor=actor, action="demo.inventory_load", obj=organization, after=summary)
    return summary
