"""Opening stock: a row per quantity of an item lying at a location (and lot). Each row becomes a receipt
line of the ledger with the reason "opening stock", and on-hand grows by it in the same transaction, so
on-hand stays the sum of the ledger. The items and locations must exist (import them first)."""

from decimal import Decimal

from django.utils import timezone

from stocktrace.imports import fields
from stocktrace.imports.bulk import insert_rows
from stocktrace.imports.engine import Importer, Row
from stocktrace.inventory.models import Item, Location, OnHand, Site, StockMovement
from stocktrace.inventory.services.alerts import alerts_for_levels

REASON = "opening stock"


class StockImporter(Importer):
    kind = "stock"
    columns = ("site_code", "location_code", "sku", "quantity", "lot", "expires_on", "unit_cost")
    required = ("site_code", "location_code", "sku", "quantity")
    filled = (OnHand, StockMovement)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sites = {site.code: site for site in Site.objects.for_org(self.organization)}
        # One expiry per item × location × lot: the first line that gave it, for later lines to agree with.
        self.expiries: dict[tuple[int, int, str], tuple] = {}
        self.watched: set[tuple[int, int]] = set()  # (item, site) with levels, for the alerts at the end
        self.counts = {"receipts": 0}

    def parse(self, row: Row) -> None:
        site_code = self.cell(row, "site_code", fields.limited, 32)
        location_code = self.cell(row, "location_code", fields.code)
        sku = self.cell(row, "sku", fields.code)
        amount = self.cell(row, "quantity", fields.qty, positive=True)
        for column, value in (("site_code", site_code), ("location_code", location_code), ("sku", sku),
                              ("quantity", amount)):
            self.require(row, column, value)
        site = self.sites.get(site_code) if site_code else None
        if site_code and site is None:
            row.errors.append(("site_code", f"unknown site {site_code}"))
        elif site is not None and site.archived_at:
            row.errors.append(("site_code", f"site {site_code} is archived"))
        row.data.update(site=site, location_code=location_code, sku=sku, quantity=amount,
                        lot=self.cell(row, "lot", fields.limited, 64) or "",
                        expires_on=self.cell(row, "expires_on", fields.day),
                        unit_cost=self.cell(row, "unit_cost", fields.cost))

    def check(self, rows: list[Row]) -> None:
        org = self.organization
        skus = {r.data["sku"] for r in rows if r.data["sku"]}
        items = {i.sku: i for i in Item.objects.filter(organization=org, sku__any=skus)}
        located = [r for r in rows if r.data["site"] is not None and r.data["location_code"]]
        locations = {(loc.site_id, loc.code): loc for loc in Location.objects.filter(
            organization=org, site_id__any={r.data["site"].pk for r in located},
            code__any={r.data["location_code"] for r in located})}
        for row in rows:
            data = row.data
            item = items.get(data["sku"]) if data["sku"] else None
            if data["sku"] and item is None:
                row.errors.append(("sku", f"unknown SKU {data['sku']}"))
            elif item is not None and item.archived_at:
                row.errors.append(("sku", f"item {item.sku} is archived"))
            location = None
            if data["site"] is not None and data["location_code"]:
                location = locations.get((data["site"].pk, data["location_code"]))
                if location is None:
                    row.errors.append(("location_code", f"unknown location {data['location_code']} in site "
                                                        f"{data['site'].code}"))
                elif location.archived_at:
                    row.errors.append(("location_code", f"location {location.code} is archived"))
            data["item"], data["location"] = item, location
            if item is None:
                continue
            if item.tracks_lots and not data["lot"]:
                row.errors.append(("lot", f"{item.sku} is lot-tracked: give the lot"))
            elif not item.tracks_lots and data["lot"]:
                row.errors.append(("lot", f"{item.sku} is not lot-tracked: leave the lot empty"))
            if not item.tracks_expiry:
                data["expires_on"] = None  # as a receipt does: the date means nothing for this item
            elif data["expires_on"] is None and not any(c == "expires_on" for c, _ in row.errors):
                row.errors.append(("expires_on", f"{item.sku} tracks expiry: give the expiry date"))
            elif location is not None:
                key = (item.pk, location.pk, data["lot"])
                first = self.expiries.setdefault(key, (data["expires_on"], row.line))
                if first[0] != data["expires_on"]:
                    row.errors.append(("expires_on", f"lot {data['lot'] or '-'} of {item.sku} at {location.code} "
                                                     f"expires on {first[0]} on line {first[1]}"))
        self._check_on_hand_expiry(rows)

    def _check_on_hand_expiry(self, rows: list[Row]) -> None:
        """A lot in stock already keeps its expiry (as the ledger refuses another one)."""
        dated = [r for r in rows if r.data.get("expires_on") and r.data["location"] is not None]
        if not dated:
            return
        keys = {(r.data["item"].pk, r.data["location"].pk, r.data["lot"]) for r in dated}
        stocked = {(i, loc, lot): day for i, loc, lot, day in OnHand.objects.filter(
            organization=self.organization, item_id__any={k[0] for k in keys}, location_id__any={k[1] for k in keys},
            quantity__gt=0, expires_on__isnull=False).values_list("item_id", "location_id", "lot", "expires_on")}
        for row in dated:
            data = row.data
            current = stocked.get((data["item"].pk, data["location"].pk, data["lot"]))
            if current is not None and current != data["expires_on"]:
                row.errors.append(("expires_on", f"lot {data['lot'] or '-'} of {data['item'].sku} at "
                                                 f"{data['location'].code} is in stock with expiry {current}"))

    def write(self, rows: list[Row]) -> None:
        org = self.organization
        now = timezone.now()
        deltas: dict[tuple[int, int, str], Decimal] = {}
        for row in rows:
            data = row.data
            key = (data["item"].pk, data["location"].pk, data["lot"])
            deltas[key] = deltas.get(key, Decimal(0)) + data["quantity"]
        site_of = {row.data["location"].pk: row.data["location"].site_id for row in rows}
        OnHand.objects.bulk_create(
            [OnHand(organization=org, item_id=i, location_id=loc, lot=lot, site_id=site_of[loc])
             for i, loc, lot in deltas], ignore_conflicts=True)
        # Lock the rows in (item, location, lot) order, as the ledger does, so concurrent postings queue up
        # behind the import instead of deadlocking with it.
        on_hand = {(o.item_id, o.location_id, o.lot): o for o in OnHand.objects.select_for_update().filter(
            organization=org, item_id__any={i for i, _, _ in deltas}, location_id__any={loc for _, loc, _ in deltas},
        ).order_by("item_id", "location_id", "lot") if (o.item_id, o.location_id, o.lot) in deltas}
        movements = []
        actor_id = self.actor.user.pk if self.actor.user else None
        for row in rows:
            data = row.data
            item, location = data["item"], data["location"]
            stock = on_hand[(item.pk, location.pk, data["lot"])]
            stock.quantity += data["quantity"]
            if data["expires_on"] is not None:
                stock.expires_on = data["expires_on"]
            movements.append({
                "organization_id": org.pk, "item_id": item.pk, "location_id": location.pk,
                "site_id": location.site_id, "lot": data["lot"], "expires_on": data["expires_on"] or stock.expires_on,
                "kind": StockMovement.Kind.RECEIPT, "quantity": data["quantity"],
                "unit_cost": data["unit_cost"] if data["unit_cost"] is not None else item.unit_cost,
                "reason": REASON, "reference": self.reference[:100], "group": None, "actor_id": actor_id,
                "created_at": now})
            if item.min_level is not None or item.max_level is not None:
                self.watched.add((item.pk, location.site_id))
        for stock in on_hand.values():
            stock.updated_at = now
        OnHand.objects.bulk_update(list(on_hand.values()), ["quantity", "expires_on", "updated_at"])
        insert_rows(StockMovement, movements)
        self.counts["receipts"] += len(movements)

    def finish(self) -> None:
        if not self.watched:
            return
        items = Item.objects.in_bulk({i for i, _ in self.watched})
        alerts_for_levels(organization=self.organization,
                          pairs={(items[item_id], site_id) for item_id, site_id in self.watched})
