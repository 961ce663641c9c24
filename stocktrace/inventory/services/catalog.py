"""Locations, items and barcodes."""

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone

from stocktrace.audit.services import audit_record, snapshot
from stocktrace.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from stocktrace.inventory.barcodes import classify, scan_key, taken
from stocktrace.inventory.models import Item, ItemBarcode, Location, OnHand, Site
from stocktrace.inventory.permissions import CATALOG_MANAGE
from stocktrace.inventory.quantities import money, quantity
from stocktrace.tenancy.actor import Actor

LOCATION_AUDITED = ["site", "parent", "kind", "code", "name", "barcode", "archived_at"]
ITEM_AUDITED = ["sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry",
                "archived_at"]


def require_site(actor: Actor, site: Site) -> None:
    """Non-admins act on their assigned sites only."""
    if actor.site_ids is not None and site.pk not in actor.site_ids:
        raise PermissionDenied(f"You are not assigned to site {site.code}")


def clean_code(value: str, field: str, max_length: int = 64) -> str:
    value = (value or "").strip()
    if not value or len(value) > max_length or any(c.isspace() for c in value):
        raise InvalidInput(f"{field} needs 1–{max_length} characters without spaces", field=field)
    return value


def _generated_barcode(site: Site, code: str) -> str:
    barcode = f"{site.code}-{code}".upper()
    max_length = Location._meta.get_field("barcode").max_length
    assert max_length is not None  # a CharField's
    if len(barcode) > max_length:
        raise InvalidInput(f"The generated barcode {barcode} is longer than 64 characters; give one",
                           field="barcode")
    # Site codes with spaces predate the rule that refuses them; their locations need a barcode given.
    if any(c.isspace() for c in barcode):
        raise InvalidInput(f"The generated barcode {barcode!r} would contain spaces (from the site code); "
                           "give one", field="barcode")
    return barcode


@transaction.atomic
def location_create(*, actor: Actor, site: Site, code: str, kind: str = Location.Kind.BIN, name: str = "",
                    parent: Location | None = None, barcode: str = "") -> Location:
    actor.require(CATALOG_MANAGE)
    require_site(actor, site)
    code = clean_code(code, "code")
    if kind not in Location.Kind.values:
        raise InvalidInput(f"kind is one of {', '.join(Location.Kind.values)}", field="kind")
    if site.archived_at:
        raise Conflict("The site is archived")
    if parent is not None and (parent.site_id != site.pk or parent.archived_at):
        raise InvalidInput("The parent must be an active location of the same site", field="parent_id")
    barcode = clean_code(barcode, "barcode") if barcode else _generated_barcode(site, code)
    try:
        with transaction.atomic():
            location = Location.objects.create(organization=actor.organization, site=site, parent=parent, kind=kind,
                                               code=code, name=name.strip(), barcode=barcode, path="/")
    except IntegrityError as error:
        raise Conflict(f"Code {code!r} exists in this site, or barcode {barcode!r} in the organization",
                       field="code") from error
    location.path = f"{parent.path if parent else '/'}{location.pk}/"
    location.save(update_fields=["path"])
    audit_record(actor=actor, action="location.create", obj=location, after=snapshot(location, LOCATION_AUDITED))
    return location


@transaction.atomic
def location_update(*, actor: Actor, location: Location, name: str | None = None, kind: str | None = None,
                    barcode: str | None = None) -> Location:
    actor.require(CATALOG_MANAGE)
    require_site(actor, location.site)
    location = Location.objects.select_for_update().get(pk=location.pk)
    before = snapshot(location, LOCATION_AUDITED)
    if name is not None:
        location.name = name.strip()
    if kind is not None:
        if kind not in Location.Kind.values:
            raise InvalidInput(f"kind is one of {', '.join(Location.Kind.values)}", field="kind")
        location.kind = kind
    if barcode is not None:
        location.barcode = clean_code(barcode, "barcode")
    after = snapshot(location, LOCATION_AUDITED)
    if after != before:
        try:
            with transaction.atomic():
                location.save()
        except IntegrityError as error:
            raise Conflict(f"Barcode {location.barcode!r} is in use", field="barcode") from error
        audit_record(actor=actor, action="location.update", obj=location, before=before, after=after)
    return location


@transaction.atomic
def location_move(*, actor: Actor, location: Location, parent: Location | None) -> Location:
    """Hang a location (and everything under it) under another parent of the same site, or at the top.
    Its stock and history stay with it."""
    actor.require(CATALOG_MANAGE)
    require_site(actor, location.site)
    location = Location.objects.select_for_update().get(pk=location.pk)
    if parent is not None:
        if parent.site_id != location.site_id:
            raise InvalidInput("A location moves within its site; transfer the stock to move between sites",
                               field="parent_id")
        if parent.path.startswith(location.path):
            raise InvalidInput("A location cannot move under itself or its own children", field="parent_id")
        if parent.archived_at:
            raise InvalidInput("The new parent is archived", field="parent_id")
    before = snapshot(location, LOCATION_AUDITED)
    old_prefix = location.path
    new_prefix = f"{parent.path if parent else '/'}{location.pk}/"
    Location.objects.filter(organization=actor.organization, path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr(F("path"), Length(Value(old_prefix)) + 1)))
    location.refresh_from_db()
    location.parent = parent
    location.save(update_fields=["parent"])
    audit_record(actor=actor, action="location.move", obj=location, before=before,
                 after=snapshot(location, LOCATION_AUDITED))
    return location


@transaction.atomic
def location_archive(*, actor: Actor, location: Location) -> Location:
    """Archive a location and everything under it. Refused while stock lies there: move it out first."""
    actor.require(CATALOG_MANAGE)
    require_site(actor, location.site)
    subtree = Location.objects.filter(organization=actor.organization, path__startswith=location.path)
    if OnHand.objects.filter(location__in=subtree).exclude(quantity=0).exists():
        raise Conflict("Stock lies in this location or under it; transfer it away before archiving")
    now = timezone.now()
    archived = subtree.filter(archived_at__isnull=True).update(archived_at=now)
    location.refresh_from_db()
    audit_record(actor=actor, action="location.archive", obj=location, after={"archived_locations": archived})
    return location


def _levels(min_level: object, max_level: object) -> tuple[Decimal | None, Decimal | None]:
    low = quantity(min_level, field="min_level", allow_zero=True) if min_level is not None else None
    high = quantity(max_level, field="max_level", allow_zero=True) if max_level is not None else None
    if (low is not None and low < 0) or (high is not None and high < 0):
        raise InvalidInput("Levels cannot be negative", field="min_level")
    if low is not None and high is not None and low > high:
        raise InvalidInput("The minimum level is above the maximum", field="min_level")
    return low, high


@transaction.atomic
def item_create(*, actor: Actor, sku: str, name: str, unit: str = "ea", unit_cost: object = 0,
                min_level: object = None, max_level: object = None, tracks_lots: bool = False,
                tracks_expiry: bool = False,
                barcodes: list[str] | None = None) -> Item:
    actor.require(CATALOG_MANAGE)
    sku = clean_code(sku, "sku")
    if not name.strip():
        raise InvalidInput("The item needs a name", field="name")
    low, high = _levels(min_level, max_level)
    cost = money(unit_cost, field="unit_cost")
    try:
        with transaction.atomic():
            item = Item.objects.create(organization=actor.organization, sku=sku, name=name.strip()[:200],
                                       unit=(unit or "ea").strip()[:16], unit_cost=cost, min_level=low,
                                       max_level=high, tracks_lots=tracks_lots, tracks_expiry=tracks_expiry)
    except IntegrityError as error:
        raise Conflict(f"SKU {sku!r} exists already", field="sku") from error
    for code in barcodes or []:
        _barcode_add(actor, item, code)
    audit_record(actor=actor, action="item.create", obj=item,
                 after={**snapshot(item, ITEM_AUDITED), "barcodes": list(barcodes or [])})
    return item


@transaction.atomic
def item_update(*, actor: Actor, item: Item, **changes: Any) -> Item:
    actor.require(CATALOG_MANAGE)
    allowed = {"name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    item = Item.objects.select_for_update().get(pk=item.pk)
    before = snapshot(item, ITEM_AUDITED)
    if "name" in changes:
        if not (changes["name"] or "").strip():
            raise InvalidInput("The item needs a name", field="name")
        item.name = changes["name"].strip()[:200]
    if "unit" in changes:
        item.unit = (changes["unit"] or "ea").strip()[:16]
    if "unit_cost" in changes:
        item.unit_cost = money(changes["unit_cost"], field="unit_cost")
    if "min_level" in changes or "max_level" in changes:
        item.min_level, item.max_level = _levels(changes.get("min_level", item.min_level),
                                                 changes.get("max_level", item.max_level))
    for flag in ("tracks_lots", "tracks_expiry"):
        if flag in changes:
            setattr(item, flag, bool(changes[flag]))
    if item.tracks_lots != before["tracks_lots"] and OnHand.objects.filter(item=item).exclude(quantity=0).exists():
        raise Conflict("Lot tracking can change only while the item has no stock", field="tracks_lots")
    after = snapshot(item, ITEM_AUDITED)
    if after != before:
        item.save()
        audit_record(actor=actor, action="item.update", obj=item, before=before, after=after)
    return item


@transaction.atomic
def item_archive(*, actor: Actor, item: Item) -> Item:
    actor.require(CATALOG_MANAGE)
    item = Item.objects.select_for_update().get(pk=item.pk)
    if OnHand.objects.filter(item=item).exclude(quantity=0).exists():
        raise Conflict("The item still has stock; issue or adjust it to zero before archiving")
    if item.archived_at is None:
        item.archived_at = timezone.now()
        item.save(update_fields=["archived_at"])
        audit_record(actor=actor, action="item.archive", obj=item, after={"archived_at": item.archived_at})
    return item


def _barcode_add(actor: Actor, item: Item, code: str, kind: str | None = None) -> tuple[ItemBarcode, bool]:
    """The barcode and whether it is new: a code the item has already, in any form of its GTIN, is kept."""
    code, kind = classify(code, kind)
    try:
        with transaction.atomic():
            return ItemBarcode.objects.create(organization=actor.organization, item=item, code=code, kind=kind), True
    except IntegrityError as error:
        owner = (ItemBarcode.objects.filter(organization=actor.organization, scan_key=scan_key(code))
                 .select_related("item").first())
        if owner is None:  # the clashing barcode was removed since
            raise Conflict(f"Barcode {code} was taken meanwhile", field="barcode") from error
        if owner.item_id == item.pk:
            return owner, False
        raise Conflict(f"Barcode {taken(code, owner.code, owner.item.sku)}", field="barcode") from error


@transaction.atomic
def item_barcode_add(*, actor: Actor, item: Item, code: str, kind: str | None = None) -> ItemBarcode:
    actor.require(CATALOG_MANAGE)
    barcode, added = _barcode_add(actor, item, code, kind)
    if added:
        audit_record(actor=actor, action="item.barcode_add", obj=item,
                     after={"barcode": barcode.code, "kind": barcode.kind})
    return barcode


@transaction.atomic
def item_barcode_remove(*, actor: Actor, item: Item, code: str) -> None:
    """Remove a barcode, given in any form of its GTIN."""
    actor.require(CATALOG_MANAGE)
    barcode = ItemBarcode.objects.filter(item=item, scan_key=scan_key(code)).first()
    if barcode is None:
        raise NotFound("The item has no such barcode")
    barcode.delete()
    audit_record(actor=actor, action="item.barcode_remove", obj=item, before={"barcode": barcode.code})
