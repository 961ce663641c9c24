"""What the home page offers from inventory: the postings as shortcuts, a scan field that finds any code,
and the figures of the person's sites with their most urgent alerts."""

from typing import Any

from stocktrace.inventory import selectors
from stocktrace.inventory.permissions import CATALOG_MANAGE, INVENTORY_VIEW, STOCK_ADJUST, STOCK_MOVE
from stocktrace.tenancy import selectors as site_selectors
from stocktrace.tenancy.actor import Actor
from stocktrace.web.home import HomePanel, Shortcut

URGENT_SHOWN = 5

SHORTCUTS = [
    Shortcut("Receive", "web:stock_receive", STOCK_MOVE, 10, "Goods in: scan the bin, the item, the quantity"),
    Shortcut("Issue", "web:stock_issue", STOCK_MOVE, 11, "Goods out of a bin"),
    Shortcut("Transfer", "web:stock_transfer", STOCK_MOVE, 12, "From one bin to another"),
    Shortcut("Adjust", "web:stock_adjust", STOCK_ADJUST, 13, "Correct a bin, with a reason"),
    Shortcut("Items", "web:items", CATALOG_MANAGE, 20, "Find an item, or add one to the catalogue"),
]


def _lookup(actor: Actor) -> dict[str, Any]:
    return {}


def _sites(actor: Actor) -> dict[str, Any] | None:
    sites = list(site_selectors.sites_visible(actor=actor).order_by("code"))
    if not sites:
        return None
    urgent = list(selectors.alerts_most_urgent(actor=actor)[:URGENT_SHOWN + 1])
    return {"figures": selectors.site_figures(actor=actor, sites=sites), "urgent": urgent[:URGENT_SHOWN],
            "more_alerts": len(urgent) > URGENT_SHOWN}


PANELS = [
    HomePanel("inventory/home_lookup.html", _lookup, INVENTORY_VIEW, 10),
    HomePanel("inventory/home_sites.html", _sites, INVENTORY_VIEW, 20),
]
