"""The inventory's rules about single values and lines, each written once. The services (catalog, ledger) and
the imports' row checks call these same functions, so an API posting and an imported row are refused for
the same reason with the same message. Each raises the domain error naming its field; none touches the
database."""

from datetime import date
from decimal import Decimal

from stocktrace.core.codes import WHITESPACE
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.inventory.quantities import quantity_text

LOCATION_KINDS = ("zone", "aisle", "rack", "bin", "other")  # Location.Kind's values; a test keeps them equal
LOCATION_BARCODE_MAX = 64  # Location.barcode's max_length
LOCATION_NAME_MAX = 150  # Location.name's max_length


def location_kind_check(kind: str) -> str:
    if kind not in LOCATION_KINDS:
        raise InvalidInput(f"{kind!r} is not a kind; the kinds are {', '.join(LOCATION_KINDS)}", field="kind")
    return kind


def location_name_check(name: str) -> str:
    name = (name or "").strip()
    if len(name) > LOCATION_NAME_MAX:
        raise InvalidInput(f"A location's name has at most {LOCATION_NAME_MAX} characters", field="name")
    return name


def location_barcode_default(site_code: str, code: str) -> str:
    """The barcode a new location gets when none is given: `<SITE>-<CODE>` in capitals."""
    barcode = f"{site_code}-{code}".upper()
    if len(barcode) > LOCATION_BARCODE_MAX:
        raise InvalidInput(f"The generated barcode {barcode} is longer than {LOCATION_BARCODE_MAX} characters; "
                           "give one", field="barcode")
    # Site codes with spaces predate the rule that refuses them; their locations need a barcode given.
    if WHITESPACE.search(barcode):
        raise InvalidInput(f"The generated barcode {barcode!r} would contain spaces (from the site code); "
                           "give one", field="barcode")
    return barcode


def location_barcode_free(barcode: str, holder: str | None) -> None:
    """A location barcode is unique in the organization: `holder` is the code of another location that has
    it (None when none does)."""
    if holder is not None:
        raise Conflict(f"Barcode {barcode} belongs to location {holder}", field="barcode")


def location_parent_check(parent, site_id: int) -> None:
    """A new location's parent: a location of the same site, not archived."""
    if parent.site_id != site_id:
        raise InvalidInput("The parent must be a location of the same site", field="parent_id")
    if parent.archived_at:
        raise InvalidInput(f"The parent location {parent.code} is archived", field="parent_id")


def levels_check(low: Decimal | None, high: Decimal | None) -> None:
    """An item's minimum and maximum levels (already parsed quantities): not negative, minimum ≤ maximum."""
    if low is not None and low < 0:
        raise InvalidInput("Levels cannot be negative", field="min_level")
    if high is not None and high < 0:
        raise InvalidInput("Levels cannot be negative", field="max_level")
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"The minimum level ({quantity_text(low)}) is above the maximum ({quantity_text(high)})",
                           field="min_level")


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
