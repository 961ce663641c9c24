"""Locations, items and barcodes."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone

from stocktrace.audit.models import AuditEvent
from stocktrace.audit.services import audit_record, audit_values, snapshot
from stocktrace.core.codes import clean_code
from stocktrace.core.db import insert_rows
from stocktrace.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from stocktrace.inventory.barcodes import classify, scan_key, taken
from stocktrace.inventory.models import Item, ItemBarcode, Location, OnHand
from stocktrace.inventory.permissions import CATALOG_MANAGE
from stocktrace.inventory.quantities import money, quantity
from stocktrace.inventory.rules import (
    levels_check,
    location_barcode_default,
    location_barcode_free,
    location_kind_check,
    location_name_check,
    location_open,
    location_parent_check,
    site_open,
)
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site

LOCATION_AUDITED = ["site", "parent", "kind", "code", "name", "barcode", "archived_at"]
LOT_TRACKING_WITH_STOCK = "Lot tracking can change only while the item has no stock"
ITEM_AUDITED = ["sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry",
                "archived_at"]


def site_access_require(actor: Actor, site: Site) -> None:
    """Non-admins act on their assigned sites only."""
    if actor.site_ids is not None and site.pk not in actor.site_ids:
        raise PermissionDenied(f"You are not assigned to site {site.code}")


def _barcode_holder(org: Organization, barcode: str, *, other_than: Q) -> str | None:
    """The code of the location (other than those `other_than` matches) that has this barcode, if any."""
    return (Location.objects.filter(organization=org, barcode=barcode).exclude(other_than)
            .values_list("code", flat=True).first())


@transaction.atomic
def location_create(*, actor: Actor, site: Site, code: str, kind: str = Location.Kind.BIN, name: str = "",
                    parent: Location | None = None, barcode: str = "") -> Location:
    actor.require(CATALOG_MANAGE)
    site_access_require(actor, site)
    code = clean_code(code, "code")
    location_kind_check(kind)
    name = location_name_check(name)
    site_open(site)
    if parent is not None:
        location_parent_check(parent, site.pk)
    barcode = clean_code(barcode, "barcode") if barcode else location_barcode_default(site.code, code)
    # The location with this code in this site, if any, fails on the code below.
    location_barcode_free(barcode, _barcode_holder(actor.organization, barcode, other_than=Q(site=site, code=code)))
    try:
        with transaction.atomic():
            location = Location.objects.create(organization=actor.organization, site=site, parent=parent, kind=kind,
                                               code=code, name=name, barcode=barcode, path="/")
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
    site_access_require(actor, location.site)
    location = Location.objects.select_for_update().get(pk=location.pk)
    before = snapshot(location, LOCATION_AUDITED)
    if name is not None:
        location.name = location_name_check(name)
    if kind is not None:
        location.kind = location_kind_check(kind)
    if barcode is not None:
        location.barcode = clean_code(barcode, "barcode")
        if location.barcode != before["barcode"]:
            location_barcode_free(location.barcode, _barcode_holder(actor.organization, location.barcode,
                                                                    other_than=Q(pk=location.pk)))
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
    site_access_require(actor, location.site)
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
    site_access_require(actor, location.site)
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
    levels_check(low, high)
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
        raise Conflict(LOT_TRACKING_WITH_STOCK, field="tracks_lots")
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


# Bulk: many items at once (imports) -------------------------------------------------------------------------

ITEM_FIELDS = ("name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry")
ITEM_DEFAULTS = {"unit": "ea", "unit_cost": 0, "min_level": None, "max_level": None, "tracks_lots": False,
                 "tracks_expiry": False}


@dataclass(slots=True)
class ItemRow:
    """One item of a bulk save, by SKU: created, or updated where it exists. A field left None stays as it is
    (on a new item: its default). Values come parsed (quantities, money); barcodes as (code, kind, scan key)
    from `classify` and `scan_key`; the barcodes are added, the item's others stay."""
    sku: str
    name: str
    unit: str | None = None
    unit_cost: Decimal | None = None
    min_level: Decimal | None = None
    max_level: Decimal | None = None
    tracks_lots: bool | None = None
    tracks_expiry: bool | None = None
    barcodes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class ItemBatch:
    """A checked batch of `ItemRow`s: what the rows that break a rule break (row index -> [(field, message)]);
    and what the check found, for `item_save_bulk` to write without looking it up again."""
    rows: list[ItemRow]
    problems: dict[int, list[tuple[str, str]]]
    existing: dict[str, Item]
    owners: dict[str, tuple[str, str]]  # scan key -> (code as stored, SKU of its item)

    @property
    def clean(self) -> bool:
        return not self.problems


def item_batch_check(*, actor: Actor, rows: list[ItemRow], lock: bool = False) -> ItemBatch:
    """The rules of `item_create` / `item_update` and `item_barcode_add` for a batch of rows (up to a few
    thousand): the SKU's code, the levels (minimum ≤ maximum, with the item's current ones where a row leaves
    them empty), lot tracking changing only without stock, barcodes not another item's. With `lock`, the
    existing items are locked (in pk order) until the transaction ends, for `item_save_bulk` to write."""
    actor.require(CATALOG_MANAGE)
    org = actor.organization
    found = Item.objects.filter(organization=org, sku__any={r.sku for r in rows if r.sku})
    if lock:
        found = found.select_for_update().order_by("pk")
    existing = {item.sku: item for item in found}
    keys = [key for r in rows for _, _, key in r.barcodes]
    owners = _barcode_owners(org, keys) if keys else {}
    relotted = {existing[r.sku].pk for r in rows if r.sku in existing and r.tracks_lots is not None
                and r.tracks_lots != existing[r.sku].tracks_lots}
    stocked = set(OnHand.objects.filter(item_id__any=relotted).exclude(quantity=0)
                  .values_list("item_id", flat=True)) if relotted else set()
    problems: dict[int, list[tuple[str, str]]] = {}
    for n, row in enumerate(rows):
        current = existing.get(row.sku)
        try:
            clean_code(row.sku, "sku")
            levels_check(row.min_level if row.min_level is not None else (current.min_level if current else None),
                         row.max_level if row.max_level is not None else (current.max_level if current else None))
        except DomainError as error:
            problems.setdefault(n, []).append((error.field or "", error.detail))
        if current is not None and current.pk in stocked and row.tracks_lots not in (None, current.tracks_lots):
            problems.setdefault(n, []).append(("tracks_lots", LOT_TRACKING_WITH_STOCK))
        for code, _, key in row.barcodes:
            owner = owners.get(key)
            if owner is not None and owner[1] != row.sku:
                problems.setdefault(n, []).append(("barcodes", f"barcode {taken(code, *owner)}"))
    return ItemBatch(rows=rows, problems=problems, existing=existing, owners=owners)


def _barcode_owners(org: Organization, keys: list[str]) -> dict[str, tuple[str, str]]:
    """The barcode (as stored) and SKU that each of these scan keys belongs to already. Two indexed lookups
    rather than a join: inside a big import's transaction the planner has no statistics for the rows just
    written, and a join planned as a hash join would scan every item once per batch."""
    found = list(ItemBarcode.objects.filter(organization=org, scan_key__any=keys)
                 .values_list("scan_key", "code", "item_id"))
    if not found:
        return {}
    sku_of = dict(Item.objects.filter(pk__any={item_id for _, _, item_id in found}).values_list("pk", "sku"))
    return {key: (code, sku_of[item_id]) for key, code, item_id in found}


def item_save_bulk(*, actor: Actor, batch: ItemBatch, audit_action: str | None = "item.save_bulk") -> dict[str, int]:
    """Write a batch that `item_batch_check` passed (with `lock`, in this transaction): new items and their
    barcodes with COPY, changed items with one bulk update. One audit row with the counts (`audit_action`;
    None when the caller records the whole operation itself, as an import does). Refuses a batch with
    problems. Returns the counts: created, updated, unchanged, barcodes_added."""
    actor.require(CATALOG_MANAGE)
    for n, row_problems in sorted(batch.problems.items())[:1]:
        column, message = row_problems[0]
        raise InvalidInput(f"{batch.rows[n].sku}: {message}", field=column or None)
    org = actor.organization
    now = timezone.now()
    created, updated, unchanged, pairs = [], [], 0, []
    with transaction.atomic(savepoint=False):
        for row in batch.rows:
            item = batch.existing.get(row.sku)
            if item is None:
                values = {}
                for name in ITEM_FIELDS[1:]:
                    value = getattr(row, name)
                    values[name] = ITEM_DEFAULTS[name] if value is None else value
                created.append({"organization_id": org.pk, "sku": row.sku, "name": row.name, **values,
                                "created_at": now})
            else:
                changed = False
                for name in ITEM_FIELDS:
                    value = getattr(row, name)
                    if value is not None and getattr(item, name) != value:
                        setattr(item, name, value)
                        changed = True
                if changed:
                    updated.append(item)
                else:
                    unchanged += 1
            if row.barcodes:
                pairs.append((row.sku, row.barcodes))
        insert_rows(Item, created)
        if updated:
            Item.objects.bulk_update(updated, ITEM_FIELDS)
        new_codes = [(sku, code, kind, key) for sku, codes in pairs for code, kind, key in codes
                     if key not in batch.owners]
        if new_codes:
            ids = {item.sku: item.pk for item in batch.existing.values()}
            missing = [sku for sku, _, _, _ in new_codes if sku not in ids]
            if missing:
                ids.update(Item.objects.filter(organization=org, sku__any=missing).values_list("sku", "pk"))
            insert_rows(ItemBarcode, [{"organization_id": org.pk, "item_id": ids[sku], "code": code, "kind": kind,
                                       "scan_key": key} for sku, code, kind, key in new_codes])
        counts = {"created": len(created), "updated": len(updated), "unchanged": unchanged,
                  "barcodes_added": len(new_codes)}
        if audit_action:
            AuditEvent.objects.create(**audit_values(
                actor=actor, action=audit_action, object_type=Item._meta.label_lower, object_id="",
                object_repr=f"items ({len(batch.rows)} rows)", after=counts))
    return counts


# Bulk: many locations at once (imports) ---------------------------------------------------------------------

LocationKey = tuple[int, str]  # (site id, code)


@dataclass(slots=True)
class LocationRow:
    """One location of a bulk save, by site and code: created, or updated where it exists. `kind` and `name`
    left None (and `barcode` left empty) stay as they are; on a new location: `bin`, no name, and the
    generated barcode. `parent_code` names a location of the same site that exists or comes on an earlier
    row; `parent_earlier` says it comes on an earlier row of the same operation that was checked in an
    earlier batch (a dry run of a file, which writes nothing). A bulk save does not move a location."""
    site: Site
    code: str
    kind: str | None = None
    name: str | None = None
    parent_code: str = ""
    barcode: str = ""
    parent_earlier: bool = False


@dataclass
class LocationBatch:
    """A checked batch of `LocationRow`s: what the rows that break a rule break (row index -> [(field,
    message)], fields named as in `LocationRow`), the barcode each row ends up with ("" where it has none
    that is valid), and the locations the check found (the rows' and their parents, by site and code) for
    `location_save_bulk` to write without looking them up again."""
    rows: list[LocationRow]
    problems: dict[int, list[tuple[str, str]]]
    barcodes: list[str]
    known: dict[LocationKey, Location]

    @property
    def clean(self) -> bool:
        return not self.problems


def location_batch_check(*, actor: Actor, rows: list[LocationRow], lock: bool = False) -> LocationBatch:
    """The rules of `location_create` / `location_update` for a batch of rows (up to a few thousand): the
    actor's sites, no archived site, the code, the kind, the parent (same site, not archived, not the
    location itself, not another parent than an existing location's), the barcode (given, or the existing
    one, or the generated one) not another location's in the organization, and no archived location updated.
    With `lock`, the locations found are locked (in pk order) until the transaction ends, for
    `location_save_bulk` to write."""
    actor.require(CATALOG_MANAGE)
    org = actor.organization
    codes = {r.code for r in rows} | {r.parent_code for r in rows if r.parent_code}
    found = Location.objects.filter(organization=org, site_id__any={r.site.pk for r in rows}, code__any=codes)
    if lock:
        found = found.select_for_update().order_by("pk")
    known = {(loc.site_id, loc.code): loc for loc in found}
    problems: dict[int, list[tuple[str, str]]] = {}
    barcodes: list[str] = []
    earlier: set[LocationKey] = set()
    moved: list[tuple[int, Location]] = []
    site_refusals: dict[int, DomainError | None] = {}  # by site: the same for each of its rows

    def refuse(n: int, name: str, error: DomainError) -> None:
        problems.setdefault(n, []).append((name, error.detail))

    for n, row in enumerate(rows):
        site, key = row.site, (row.site.pk, row.code)
        current = known.get(key)
        if site.pk not in site_refusals:
            try:
                site_access_require(actor, site)
                site_open(site)
                site_refusals[site.pk] = None
            except DomainError as error:
                site_refusals[site.pk] = error
        if site_refusals[site.pk] is not None:
            refuse(n, "site", cast(DomainError, site_refusals[site.pk]))
        try:
            clean_code(row.code, "code")
            if current is not None:
                location_open(current)
            if row.kind is not None:
                location_kind_check(row.kind)
            if row.name is not None:
                location_name_check(row.name)
        except DomainError as error:
            refuse(n, error.field or "code", error)
        if row.parent_code:
            _parent_check(n, row, known, earlier, current, moved, refuse)
        barcode = ""
        try:
            barcode = (clean_code(row.barcode, "barcode") if row.barcode
                       else current.barcode if current is not None else location_barcode_default(site.code, row.code))
        except DomainError as error:
            refuse(n, "barcode", error)
        if key in earlier:
            refuse(n, "code", Conflict(f"Location {row.code} of site {site.code} is given twice"))
            barcode = ""  # the row is refused for its code; its barcode is the first row's
        barcodes.append(barcode)
        earlier.add(key)
    if moved:
        _refuse_moves(moved, refuse)
    _barcodes_check(org, rows, barcodes, refuse)
    return LocationBatch(rows=rows, problems=problems, barcodes=barcodes, known=known)


def _parent_check(n: int, row: LocationRow, known: dict[LocationKey, Location], earlier: set[LocationKey],
                  current: Location | None, moved: list[tuple[int, Location]],
                  refuse: Callable[[int, str, DomainError], None]) -> None:
    if row.parent_code == row.code:
        refuse(n, "parent_code", InvalidInput("a location cannot be its own parent"))
        return
    parent = known.get((row.site.pk, row.parent_code))
    if parent is None:
        if (row.site.pk, row.parent_code) not in earlier and not row.parent_earlier:
            refuse(n, "parent_code", NotFound(f"no location {row.parent_code} in site {row.site.code}, "
                                              "nor on an earlier line of the file"))
    elif current is None:
        try:
            location_parent_check(parent, row.site.pk)
        except DomainError as error:
            refuse(n, "parent_code", error)
    if current is not None and (parent is None or current.parent_id != parent.pk):
        moved.append((n, current))


def _refuse_moves(moved: list[tuple[int, Location]], refuse: Callable[[int, str, DomainError], None]) -> None:
    """Rows that would hang an existing location under another parent."""
    parent_codes = dict(Location.objects.filter(pk__any={loc.parent_id for _, loc in moved if loc.parent_id})
                        .values_list("pk", "code"))
    for n, current in moved:
        where = f"under {parent_codes[current.parent_id]}" if current.parent_id else "at the top of the site"
        refuse(n, "parent_code", InvalidInput(f"location {current.code} exists {where}; an import does not "
                                              "move locations (use Move)"))


def _barcodes_check(org: Organization, rows: list[LocationRow], barcodes: list[str],
                    refuse: Callable[[int, str, DomainError], None]) -> None:
    """Each row's barcode: not another location's, nor given twice in the batch."""
    holders: dict[str, LocationKey] = {
        barcode: (site_id, code) for barcode, site_id, code in Location.objects.filter(
            organization=org, barcode__any=[b for b in barcodes if b]).values_list("barcode", "site_id", "code")}
    seen: set[str] = set()
    for n, (row, barcode) in enumerate(zip(rows, barcodes, strict=True)):
        if not barcode:
            continue
        holder = holders.get(barcode)
        try:
            location_barcode_free(barcode, holder[1] if holder and holder != (row.site.pk, row.code) else None)
            if barcode in seen:
                raise Conflict(f"Barcode {barcode} is given twice", field="barcode")
        except DomainError as error:
            refuse(n, "barcode", error)
        seen.add(barcode)


def location_save_bulk(*, actor: Actor, batch: LocationBatch,
                       audit_action: str | None = "location.save_bulk") -> dict[str, int]:
    """Write a batch that `location_batch_check` passed (with `lock`, in this transaction): new locations
    with their parent and materialized path in one insert (COPY on PostgreSQL), changed ones (kind, name,
    barcode) with one bulk update. One audit row with the counts (`audit_action`; None when the caller
    records the whole operation itself, as an import does). Refuses a batch with problems. Returns the
    counts: created, updated, unchanged."""
    actor.require(CATALOG_MANAGE)
    for n, row_problems in sorted(batch.problems.items())[:1]:
        column, message = row_problems[0]
        raise InvalidInput(f"{batch.rows[n].code}: {message}", field=column or None)
    org = actor.organization
    placed = {key: (loc.pk, loc.path) for key, loc in batch.known.items()}
    new: list[tuple[LocationRow, str]] = []
    updated: list[Location] = []
    unchanged = 0
    with transaction.atomic(savepoint=False):
        for row, barcode in zip(batch.rows, batch.barcodes, strict=True):
            current = batch.known.get((row.site.pk, row.code))
            if current is None:
                new.append((row, barcode))
                continue
            before = (current.kind, current.name, current.barcode)
            current.kind = row.kind or current.kind
            current.name = row.name.strip() if row.name else current.name
            current.barcode = barcode
            if (current.kind, current.name, current.barcode) != before:
                updated.append(current)
            else:
                unchanged += 1
        _locations_insert(org, new, placed)
        if updated:
            Location.objects.bulk_update(updated, ["kind", "name", "barcode"])
        counts = {"created": len(new), "updated": len(updated), "unchanged": unchanged}
        if audit_action:
            AuditEvent.objects.create(**audit_values(
                actor=actor, action=audit_action, object_type=Location._meta.label_lower, object_id="",
                object_repr=f"locations ({len(batch.rows)} rows)", after=counts))
    return counts


def _locations_insert(org: Organization, new: list[tuple[LocationRow, str]],
                      placed: dict[LocationKey, tuple[int, str]]) -> None:
    """Insert new locations, parents on earlier rows than their children. The path holds the location's own
    id: on PostgreSQL the ids are taken from the table's sequence first, so each row goes in whole with one
    COPY; elsewhere the rows go in with their parents left empty, then get parent and path in one update."""
    if not new:
        return
    missing = {(row.site.pk, row.parent_code) for row, _ in new if row.parent_code} - placed.keys()
    if missing:  # parents written by an earlier batch that the check did not find (it ran before they were)
        for loc in Location.objects.filter(organization=org, site_id__any={s for s, _ in missing},
                                           code__any={c for _, c in missing}):
            placed.setdefault((loc.site_id, loc.code), (loc.pk, loc.path))
    now = timezone.now()
    locations = [Location(organization=org, site=row.site, code=row.code, kind=row.kind or Location.Kind.BIN,
                          name=(row.name or "").strip(), barcode=barcode, path="/", created_at=now)
                 for row, barcode in new]
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [Location._meta.db_table, len(locations)])
            for location, (pk,) in zip(locations, sorted(cursor.fetchall()), strict=True):
                location.pk = pk
    else:
        Location.objects.bulk_create(locations)
    for location, (row, _) in zip(locations, new, strict=True):
        parent_id, parent_path = None, "/"
        if row.parent_code:
            if (row.site.pk, row.parent_code) not in placed:
                raise NotFound(f"{row.code}: no location {row.parent_code} in site {row.site.code}",
                               field="parent_code")
            parent_id, parent_path = placed[(row.site.pk, row.parent_code)]
        location.parent_id = parent_id
        location.path = f"{parent_path}{location.pk}/"
        placed[(row.site.pk, row.code)] = (location.pk, location.path)
    if postgres:
        insert_rows(Location, [{"id": loc.pk, "organization_id": org.pk, "site_id": loc.site_id,
                                "parent_id": loc.parent_id, "kind": loc.kind, "code": loc.code, "name": loc.name,
                                "barcode": loc.barcode, "path": loc.path, "archived_at": None, "created_at": now}
                               for loc in locations])
    else:
        Location.objects.bulk_update(locations, ["parent", "path"])
