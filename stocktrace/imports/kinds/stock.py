"""Opening stock: a row per quantity of an item lying at a location (and lot). Each row becomes a receipt
line of the ledger with the reason "opening stock", posted through the ledger's bulk entry point
(`stock_receive_bulk`), so on-hand stays the sum of the ledger and one code writes both. The row checks are
the ledger's own rules (`stocktrace.inventory.rules`), reported per line and column. The items and
locations must exist (import them first)."""

from stocktrace.core.errors import DomainError
from stocktrace.imports import fields
from stocktrace.imports.engine import Importer, Row
from stocktrace.inventory import rules
from stocktrace.inventory.models import Item, Location, OnHand, StockMovement
from stocktrace.inventory.services.ledger import Receipt, on_hand_expiries, stock_levels_check, stock_receive_bulk
from stocktrace.tenancy.models import Site

REASON = "opening stock"


def _rule(row: Row, column: str | None, rule, *args, **kwargs) -> bool:
    """Apply one of the inventory's rules to a row: its error, if any, goes to `column` (else the field the
    rule names), unless that column has one already. True when the rule passed."""
    try:
        rule(*args, **kwargs)
    except DomainError as error:
        column = column or error.field or ""
        if not any(c == column for c, _ in row.errors):
            row.errors.append((column, error.detail))
        return False
    return True


class StockImporter(Importer):
    kind = "stock"
    columns = ("site_code", "location_code", "sku", "quantity", "lot", "expires_on", "unit_cost")
    required = ("site_code", "location_code", "sku", "quantity")
    filled = (OnHand, StockMovement)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sites = {site.code: site for site in Site.objects.for_org(self.organization)}
        self.site_of = {site.pk: site for site in self.sites.values()}
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
        elif site is not None:
            _rule(row, "site_code", rules.site_open, site)
        row.data.update(site=site, location_code=location_code, sku=sku, quantity=amount,
                        lot=self.cell(row, "lot", fields.limited, 64) or "",
                        expires_on=self.cell(row, "expires_on", fields.day),
                        unit_cost=self.cell(row, "unit_cost", fields.cost))

    def check(self, rows: list[Row]) -> None:
        org = self.organization
        skus = {r.data["sku"] for r in rows if r.data["sku"]}
        items = {i.sku: i for i in Item.objects.filter(organization=org, sku__any=skus)}
        located = [r for r in rows if r.data["site"] is not None and r.data["location_code"]]
        locations = {}
        for loc in Location.objects.filter(organization=org, site_id__any={r.data["site"].pk for r in located},
                                           code__any={r.data["location_code"] for r in located}):
            loc.site = self.site_of[loc.site_id]  # the ledger's rules read it
            locations[(loc.site_id, loc.code)] = loc
        for row in rows:
            data = row.data
            item = items.get(data["sku"]) if data["sku"] else None
            if data["sku"] and item is None:
                row.errors.append(("sku", f"unknown SKU {data['sku']}"))
            elif item is not None:
                _rule(row, "sku", rules.item_open, item)
            location = None
            if data["site"] is not None and data["location_code"]:
                location = locations.get((data["site"].pk, data["location_code"]))
                if location is None:
                    row.errors.append(("location_code", f"unknown location {data['location_code']} in site "
                                                        f"{data['site'].code}"))
                else:
                    _rule(row, "location_code", rules.location_open, location)
            data["item"], data["location"] = item, location
            if item is None:
                continue
            if not item.tracks_expiry:
                data["expires_on"] = None  # as a receipt does: the date means nothing for this item
            if not _rule(row, None, rules.lot_check, item, data["lot"], data["expires_on"], receiving=True):
                continue
            if location is not None and data["expires_on"] is not None:
                first = self.expiries.setdefault((item.pk, location.pk, data["lot"]), (data["expires_on"], row.line))
                _rule(row, "expires_on", rules.lot_expiry_check, item, location, data["lot"], first[0],
                      data["expires_on"], f" (line {first[1]})")
        self._check_on_hand_expiry(rows)

    def _check_on_hand_expiry(self, rows: list[Row]) -> None:
        """A lot in stock already keeps its expiry (as the ledger refuses another one)."""
        dated = [r for r in rows if r.data.get("expires_on") and r.data.get("item") is not None
                 and r.data.get("location") is not None]
        stocked = on_hand_expiries(organization=self.organization, keys={
            (r.data["item"].pk, r.data["location"].pk, r.data["lot"]) for r in dated})
        for row in dated:
            data = row.data
            _rule(row, "expires_on", rules.lot_expiry_check, data["item"], data["location"], data["lot"],
                  stocked.get((data["item"].pk, data["location"].pk, data["lot"])), data["expires_on"])

    def write(self, rows: list[Row]) -> None:
        received = stock_receive_bulk(
            actor=self.actor, reason=REASON, reference=self.reference, audit_action=None, check_levels=False,
            receipts=[Receipt(item=r.data["item"], location=r.data["location"], quantity=r.data["quantity"],
                              lot=r.data["lot"], expires_on=r.data["expires_on"], unit_cost=r.data["unit_cost"])
                      for r in rows])
        self.watched |= received.levels_due
        self.counts["receipts"] += received.movements

    def finish(self) -> None:
        # The import records itself (`import.applied`); its levels are checked once, after the last batch.
        stock_levels_check(actor=self.actor, pairs=self.watched)
