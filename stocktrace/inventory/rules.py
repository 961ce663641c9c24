"""The inventory's rules about single values and lines, each written once. The services (catalog, ledger) and
the imports' row checks call these same functions, so an API posting and an imported row are refused for
the same reason with the same message. Each raises the domain error naming its field; none touches the
database."""

from datetime import date
from decimal import Decimal

from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.inventory.models import OnHand
from stocktrace.tenancy.models import Site


def levels_check(low: Decimal | None, high: Decimal | None) -> None:
    """An item's minimum and maximum levels (already parsed quantities): not negative, minimum ≤ maximum."""
    if low is not None and low < 0:
        raise InvalidInput("Levels cannot be negative", field="min_level")
    if high is not None and high < 0:
        raise InvalidInput("Levels cannot be negative", field="max_level")
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"The minimum level ({low}) is above the maximum ({high})", field="min_level")


def lot_check(item, lot: str, expires_on: date | None, *, receiving: bool) -> str:
    """The lot of a posting line of `item` (trimmed): required for lot-tracked items, refused for others; an
    expiry date required when stock of an item that tracks expiry comes in."""
    lot = (lot or "").strip()
    if item.tracks_lots and not lot:
        raise InvalidInput(f"{item.sku} is lot-tracked: give the lot", field="lot")
    if not item.tracks_lots and lot:
        raise InvalidInput(f"{item.sku} is not lot-tracked: leave the lot empty", field="lot")
    if receiving and item.tracks_expiry and expires_on is None:
        raise InvalidInput(f"{item.sku} tracks expiry: give the expiry date", field="expires_on")
    return lot


def item_open(item) -> None:
    if item.archived_at:
        raise Conflict(f"Item {item.sku} is archived")


def location_open(location) -> None:
    if location.archived_at:
        raise Conflict(f"Location {location.code} is archived")


def site_open(site) -> None:
    if site.archived_at:
        raise Conflict(f"Site {site.code} is archived")


def posting_open(item, location, site) -> None:
    """Archived items, archived locations and the locations of an archived site take no postings."""
    item_open(item)
    location_open(location)
    site_open(site)


def lot_expiry_check(item, location, lot: str, current: date | None, wanted: date | None, where: str = "") -> None:
    """One expiry per item × location × lot: stock coming in with a date must agree with the date the lot
    has there (`current`, None when it has none). `where` says where `current` comes from, if not on-hand."""
    if wanted is not None and current is not None and current != wanted:
        raise Conflict(f"Lot {lot or '-'} of {item.sku} at {location.code} expires on {current}{where}, "
                       f"not {wanted}", field="expires_on")


def site_holds_no_stock(site: Site) -> None:
    """A site is archived only once its stock is gone (checked by accounts' site_archive)."""
    if OnHand.objects.filter(organization_id=site.organization_id, site=site).exclude(quantity=0).exists():
        raise Conflict(f"Stock lies at site {site.code}; transfer it away before archiving")
