"""Inventory pages: stock on hand, the four postings (receive, issue, adjust, transfer) built for scanning,
items, locations and alerts. Views parse (scanned codes become objects through the selectors, which scope
them to the organization and the person's sites), call one service and render; domain errors become form
errors or messages, and a foreign id in the path raises NotFound (a 404 page)."""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from stocktrace.core.errors import DomainError, InvalidInput, NotFound
from stocktrace.core.pagination import keyset_page
from stocktrace.inventory import selectors
from stocktrace.inventory.forms import (
    AdjustForm,
    AlertFilterForm,
    BarcodeForm,
    IssueForm,
    ItemForm,
    ItemLevelsForm,
    ItemSearchForm,
    LocationForm,
    LocationMoveForm,
    ReceiveForm,
    StockFilterForm,
    TransferForm,
)
from stocktrace.inventory.models import Location, StockAlert
from stocktrace.inventory.permissions import ALERTS_MANAGE, CATALOG_MANAGE, INVENTORY_VIEW, STOCK_ADJUST, STOCK_MOVE
from stocktrace.inventory.quantities import quantity_text
from stocktrace.inventory.services import alerts as alert_services
from stocktrace.inventory.services import catalog, ledger
from stocktrace.tenancy import selectors as site_selectors
from stocktrace.web.actions import announce, followed_job
from stocktrace.web.decorators import page_requires
from stocktrace.web.forms import show_domain_error

PAGE_SIZE = 100
LEVEL_SIZE = 100  # locations of one level of the tree (or of a search) on one page
SHOWN = 200  # on-hand rows on an item's or a location's page
RECENT = 50  # movements on a location's page
CHILDREN_SHOWN = 12  # locations listed inside a location on its page

# The services name some fields as the API does; the pages' forms name them for people.
FIELD_ALIASES = {"delta": "quantity", "to_location_id": "to_location", "parent_id": "parent",
                 "location_id": "location", "item_id": "item", "site_id": "site"}


def _form_error(form, error: DomainError, **aliases) -> None:
    show_domain_error(form, error, {**FIELD_ALIASES, **aliases})


def _page(queryset, request, *, newest_first: bool) -> dict:
    try:
        return keyset_page(queryset, cursor=request.GET.get("cursor"), limit=PAGE_SIZE, newest_first=newest_first)
    except InvalidInput:  # a mangled cursor: start again rather than fail
        return keyset_page(queryset, cursor=None, limit=PAGE_SIZE, newest_first=newest_first)


def _query_without_cursor(request) -> str:
    query = request.GET.copy()
    query.pop("cursor", None)
    return query.urlencode()


def _back(request, default: str, **kwargs):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default, **kwargs)


def location_by_code(actor, code: str, site=None):
    return selectors.location_by_code(actor=actor, code=code, site=site)


def _resolve(form, field: str, lookup):
    """The object a scanned code names, or None with the reason as an error on the field."""
    code = form.cleaned_data.get(field)
    if not code:
        return None
    try:
        return lookup(code)
    except DomainError as error:
        form.add_error(field, error.detail)
        return None


def _on_hand_at(actor, item, location, lot: str = "", *, named=None) -> str:
    rows = selectors.on_hand_rows(actor=actor, location=location, item_id=item.pk, lot=lot or None,
                                  include_zero=True).filter(location=location)
    total = rows.aggregate(total=Sum("quantity"))["total"] or Decimal(0)
    return f"{quantity_text(total)} {item.unit} at {(named or _bin)(location)}{' in lot ' + lot if lot else ''}"


def _bin(location) -> str:
    return location.code


def _bin_and_site(location) -> str:
    """Bin codes repeat across sites (A-01 in each): a message about two sites names them."""
    return f"{location.code} ({location.site.code})"


# Postings --------------------------------------------------------------------------------------------------

POSTING_PAGES = [("stock_receive", "Receive", STOCK_MOVE), ("stock_issue", "Issue", STOCK_MOVE),
                 ("stock_adjust", "Adjust", STOCK_ADJUST), ("stock_transfer", "Transfer", STOCK_MOVE)]


def _posting(request, *, form_class, title: str, intro: str, submit: str, scanned: dict, post):
    """Parse the form, turn each scanned code into its item or location, post through the ledger service,
    then redirect to an empty form (the next scan) with the new on-hand in the message."""
    actor = request.actor
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        lookups = {"item": lambda code: selectors.item_by_code(actor=actor, code=code),
                   "location": lambda code: location_by_code(actor, code)}
        targets = {field: _resolve(form, field, lookups[kind]) for field, kind in scanned.items()}
        if not form.errors:
            try:
                note = post(actor, form, **targets)
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, note)
                return redirect(request.path)
    form.focus()
    postings = [(name, label) for name, label, perm in POSTING_PAGES if actor.can(perm)]
    return render(request, "inventory/post.html", {
        "form": form, "title": title, "intro": intro, "submit": submit, "postings": postings,
    }, status=422 if form.errors else 200)


def _receive(actor, form, *, item, location) -> str:
    data = form.cleaned_data
    movement = ledger.stock_receive(actor=actor, item=item, location=location, quantity_received=data["quantity"],
                                    lot=data["lot"], expires_on=data["expires_on"], unit_cost=data["unit_cost"],
                                    reference=data["reference"], reason=data["reason"])
    return (f"Received {quantity_text(movement.quantity)} {item.unit} of {item.sku} into {location.code}. "
            f"On hand now: {_on_hand_at(actor, item, location, movement.lot)}.")


def _issue(actor, form, *, item, location) -> str:
    data = form.cleaned_data
    movement = ledger.stock_issue(actor=actor, item=item, location=location, quantity_issued=data["quantity"],
                                  lot=data["lot"], reference=data["reference"], reason=data["reason"])
    return (f"Issued {quantity_text(-movement.quantity)} {item.unit} of {item.sku} from {location.code}. "
            f"On hand now: {_on_hand_at(actor, item, location, movement.lot)}.")


def _adjust(actor, form, *, item, location) -> str:
    data = form.cleaned_data
    movement = ledger.stock_adjust(actor=actor, item=item, location=location, delta=form.delta(),
                                   reason=data["reason"], lot=data["lot"], expires_on=data["expires_on"],
                                   reference=data["reference"])
    sign = "+" if movement.quantity > 0 else "-"
    return (f"Adjusted {item.sku} at {location.code} by {sign}{quantity_text(abs(movement.quantity))} {item.unit} "
            f"({movement.reason}). On hand now: {_on_hand_at(actor, item, location, movement.lot)}.")


def _transfer(actor, form, *, item, from_location, to_location) -> str:
    data = form.cleaned_data
    out, _ = ledger.stock_transfer(actor=actor, item=item, source=from_location, destination=to_location,
                                   quantity_moved=data["quantity"], lot=data["lot"], reference=data["reference"],
                                   reason=data["reason"])
    named = _bin if from_location.site_id == to_location.site_id else _bin_and_site
    return (f"Moved {quantity_text(-out.quantity)} {item.unit} of {item.sku} from {named(from_location)} to "
            f"{named(to_location)}. On hand now: {_on_hand_at(actor, item, from_location, out.lot, named=named)}, "
            f"{_on_hand_at(actor, item, to_location, out.lot, named=named)}.")


@page_requires(STOCK_MOVE)
@require_http_methods(["GET", "POST"])
def stock_receive(request):
    return _posting(request, form_class=ReceiveForm, title="Receive stock", submit="Receive",
                    intro="Scan the bin, then the item, type the quantity and press Enter.",
                    scanned={"location": "location", "item": "item"}, post=_receive)


@page_requires(STOCK_MOVE)
@require_http_methods(["GET", "POST"])
def stock_issue(request):
    return _posting(request, form_class=IssueForm, title="Issue stock", submit="Issue",
                    intro="Scan the bin the stock is taken from, then the item, and type the quantity.",
                    scanned={"location": "location", "item": "item"}, post=_issue)


@page_requires(STOCK_ADJUST)
@require_http_methods(["GET", "POST"])
def stock_adjust(request):
    return _posting(request, form_class=AdjustForm, title="Adjust stock", submit="Adjust",
                    intro="Correct the stock of one bin: remove what was damaged, lost or expired, add what was "
                          "found. The reason is recorded.",
                    scanned={"location": "location", "item": "item"}, post=_adjust)


@page_requires(STOCK_MOVE)
@require_http_methods(["GET", "POST"])
def stock_transfer(request):
    return _posting(request, form_class=TransferForm, title="Transfer stock", submit="Transfer",
                    intro="Scan the bin the stock leaves, the item, and the bin it goes to. Lots and their "
                          "expiry dates travel with the stock.",
                    scanned={"from_location": "location", "item": "item", "to_location": "location"},
                    post=_transfer)


# Stock on hand ---------------------------------------------------------------------------------------------

@page_requires(INVENTORY_VIEW)
@require_GET
def stock(request):
    actor = request.actor
    form = StockFilterForm(request.GET or None)
    form.set_site_choices(site_selectors.sites_visible(actor=actor).order_by("code"))
    page: dict[str, Any]
    page, totals, item = {"items": [], "next_cursor": None}, None, None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        site = data.get("site")
        location = _resolve(form, "location", lambda code: location_by_code(actor, code, site)) if form.is_bound \
            else None
        item = _resolve(form, "item", lambda code: selectors.item_by_code(actor=actor, code=code)) \
            if form.is_bound else None
        if not form.errors:
            rows = selectors.on_hand_rows(actor=actor, site_id=site.pk if site else None, location=location,
                                          item_id=item.pk if item else None, lot=data.get("lot") or None,
                                          include_zero=data.get("zero", False))
            page = _page(rows, request, newest_first=False)
            if item is not None:
                by_site = list(rows.order_by("site__code").values("site__code").annotate(total=Sum("quantity")))
                totals = {"total": sum((s["total"] for s in by_site), Decimal(0)), "sites": by_site}
    return render(request, "inventory/stock.html", {
        "form": form, "page": page, "item": item if totals else None, "totals": totals,
        "query": _query_without_cursor(request),
        "postings": [(name, label) for name, label, perm in POSTING_PAGES if actor.can(perm)],
    })


# Items -----------------------------------------------------------------------------------------------------

def _items_page(request, *, form=None, status: int = 200):
    actor = request.actor
    search = ItemSearchForm(request.GET or None)
    text = search.cleaned_data["q"].strip() if search.is_valid() else ""
    items = selectors.items_visible(actor=actor, search=text or None).prefetch_related("barcodes")
    page = _page(items, request, newest_first=False)
    if text and not page["items"] and request.method == "GET":
        try:  # a scanned barcode is neither a SKU prefix nor in a name: open its item
            return redirect("web:item", item_id=selectors.item_by_code(actor=actor, code=text).pk)
        except NotFound:
            pass
    if form is None and actor.can(CATALOG_MANAGE):
        form = ItemForm()
    return render(request, "inventory/items.html", {
        "search": search, "page": page, "form": form, "query": _query_without_cursor(request),
    }, status=status)


@page_requires(INVENTORY_VIEW)
@require_GET
def lookup(request):
    """A scanned or typed code, from the home page: opens its item or its location, or says what was not found."""
    code = request.GET.get("code", "").strip()
    if not code:
        messages.error(request, "Scan or type a code to look it up.")
        return redirect("web:home")
    try:
        found = selectors.item_or_location_by_code(actor=request.actor, code=code)
    except (NotFound, InvalidInput) as error:
        messages.error(request, str(error))
        return redirect("web:home")
    if isinstance(found, Location):
        return redirect("web:location", location_id=found.pk)
    return redirect("web:item", item_id=found.pk)


@page_requires(INVENTORY_VIEW)
@require_GET
def items(request):
    return _items_page(request)


@page_requires(CATALOG_MANAGE)
@require_POST
def item_create(request):
    form = ItemForm(request.POST)
    if form.is_valid():
        try:
            item = catalog.item_create(actor=request.actor, **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error, barcode="barcodes")
        else:
            messages.success(request, f"Item {item.sku} created.")
            return redirect("web:item", item_id=item.pk)
    return _items_page(request, form=form, status=422)


def _item_page(request, item, *, levels=None, barcode=None, status: int = 200):
    actor = request.actor
    can_manage = actor.can(CATALOG_MANAGE)
    on_hand = selectors.on_hand_rows(actor=actor, item_id=item.pk)
    history = _page(selectors.movements_of(actor=actor, item=item), request, newest_first=True)
    if can_manage:
        levels = levels or ItemLevelsForm(initial={"min_level": item.min_level, "max_level": item.max_level})
        barcode = barcode or BarcodeForm()
    return render(request, "inventory/item.html", {
        "item": item,
        "barcodes": item.barcodes.order_by("code"),
        "on_hand": on_hand.order_by("site__code", "location__code", "lot")[:SHOWN],
        "on_hand_total": on_hand.aggregate(total=Sum("quantity"))["total"] or Decimal(0),
        # Someone assigned to some sites sees their stock only: the total says whose it is.
        "on_hand_sites": None if actor.site_ids is None else
        sorted(site_selectors.sites_visible(actor=actor).values_list("code", flat=True)),
        "on_hand_count": on_hand.count(),
        "shown": SHOWN,
        "alerts": selectors.alerts_of(actor=actor, item_id=item.pk).exclude(
            status=StockAlert.Status.RESOLVED).order_by("-pk")[:20],
        "history": history,
        "query": _query_without_cursor(request),
        "can_manage": can_manage,
        "levels": levels,
        "barcode": barcode,
    }, status=status)


@page_requires(INVENTORY_VIEW)
@require_GET
def item(request, item_id: int):
    return _item_page(request, selectors.item_get(actor=request.actor, item_id=item_id))


@page_requires(CATALOG_MANAGE)
@require_POST
def item_levels(request, item_id: int):
    item = selectors.item_get(actor=request.actor, item_id=item_id)
    form = ItemLevelsForm(request.POST)
    if form.is_valid():
        try:
            item = catalog.item_update(actor=request.actor, item=item, **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Levels of {item.sku} saved.")
            return redirect("web:item", item_id=item.pk)
    return _item_page(request, item, levels=form, status=422)


@page_requires(CATALOG_MANAGE)
@require_POST
def item_barcode_add(request, item_id: int):
    item = selectors.item_get(actor=request.actor, item_id=item_id)
    form = BarcodeForm(request.POST)
    if form.is_valid():
        try:
            barcode = catalog.item_barcode_add(actor=request.actor, item=item, code=form.cleaned_data["code"],
                                               kind=form.cleaned_data["kind"] or None)
        except DomainError as error:
            _form_error(form, error, barcode="code")
        else:
            messages.success(request, f"Barcode {barcode.code} added to {item.sku}.")
            return redirect("web:item", item_id=item.pk)
    return _item_page(request, item, barcode=form, status=422)


@page_requires(CATALOG_MANAGE)
@require_POST
def item_barcode_remove(request, item_id: int):
    item = selectors.item_get(actor=request.actor, item_id=item_id)
    code = request.POST.get("code", "")
    announce(request, lambda: catalog.item_barcode_remove(actor=request.actor, item=item, code=code),
             lambda _: f"Barcode {code} removed from {item.sku}.")
    return redirect("web:item", item_id=item.pk)


# Locations -------------------------------------------------------------------------------------------------

def _path_ids(location) -> list[int]:
    return [int(part) for part in location.path.strip("/").split("/") if part]


def _ancestors(actor, location) -> list:
    """The locations above `location`, from the top of its site down."""
    return sorted(selectors.locations_visible(actor=actor, include_archived=True)
                  .filter(pk__in=_path_ids(location)[:-1]), key=lambda a: len(a.path))


def _locations_page(request, *, form=None, status: int = 200):
    """One level of a site's location tree at a time (its top level, or what is directly in `under`), or the
    locations a search finds; LEVEL_SIZE a page, by code, `after` the last code of the page before."""
    actor = request.actor
    sites = site_selectors.sites_visible(actor=actor).order_by("code")
    site_id = request.GET.get("site", "")
    site = site_selectors.site_get(actor=actor, site_id=int(site_id)) if site_id.isdigit() else sites.first()
    under_id = request.GET.get("under", "")
    under = selectors.location_get(actor=actor, location_id=int(under_id)) if under_id.isdigit() else None
    if under is not None:
        site = under.site
    search = request.GET.get("q", "").strip()
    after = request.GET.get("after", "")
    rows, more, ancestors = [], False, []
    if site is not None:
        level = selectors.location_level(actor=actor, site_id=site.pk, parent=under, search=search)
        rows = list((level.filter(code__gt=after) if after else level)[:LEVEL_SIZE + 1])
        more = len(rows) > LEVEL_SIZE
        rows = rows[:LEVEL_SIZE]
    if under is not None:
        ancestors = _ancestors(actor, under)
    if form is None and actor.can(CATALOG_MANAGE):
        form = LocationForm(initial={"site": site.pk if site else None, "parent": under.code if under else ""})
    if form is not None:
        form.set_site_choices(sites)
    return render(request, "inventory/locations.html", {
        "sites": sites, "site": site, "under": under, "ancestors": ancestors, "search": search, "rows": rows,
        "next_after": rows[-1].code if more else None, "after": after, "form": form,
    }, status=status)


@page_requires(INVENTORY_VIEW)
@require_GET
def locations(request):
    return _locations_page(request)


@page_requires(CATALOG_MANAGE)
@require_POST
def location_create(request):
    actor = request.actor
    form = LocationForm(request.POST)
    form.set_site_choices(site_selectors.sites_visible(actor=actor))
    if form.is_valid():
        data = form.cleaned_data
        parent = _resolve(form, "parent", lambda code: location_by_code(actor, code, data["site"]))
        if not form.errors:
            try:
                location = catalog.location_create(actor=actor, site=data["site"], code=data["code"],
                                                   kind=data["kind"], name=data["name"], parent=parent,
                                                   barcode=data["barcode"])
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, f"Location {location.code} created; its barcode is {location.barcode}.")
                return redirect("web:location", location_id=location.pk)
    return _locations_page(request, form=form, status=422)


@page_requires(INVENTORY_VIEW)
@require_GET
def location(request, location_id: int):
    actor = request.actor
    place = selectors.location_get(actor=actor, location_id=location_id)
    ancestors = _ancestors(actor, place)
    on_hand = selectors.on_hand_rows(actor=actor, location=place)
    can_manage = actor.can(CATALOG_MANAGE)
    return render(request, "inventory/location.html", {
        "location": place,
        "ancestors": ancestors,
        # The first of what lies inside; the locations page lists all of it a page at a time.
        "children": selectors.locations_visible(actor=actor).filter(parent=place).order_by("code")[:CHILDREN_SHOWN + 1],
        "children_shown": CHILDREN_SHOWN,
        "on_hand": on_hand.order_by("location__code", "item__sku", "lot")[:SHOWN],
        "on_hand_count": on_hand.count(),
        "shown": SHOWN,
        "movements": selectors.movements_of(actor=actor, location=place).order_by("-pk")[:RECENT],
        "recent": RECENT,
        "can_manage": can_manage,
        "move": LocationMoveForm() if can_manage and not place.archived_at else None,
    })


@page_requires(CATALOG_MANAGE)
@require_POST
def location_move(request, location_id: int):
    actor = request.actor
    place = selectors.location_get(actor=actor, location_id=location_id)
    form = LocationMoveForm(request.POST)
    if form.is_valid():
        parent = _resolve(form, "parent", lambda code: location_by_code(actor, code, place.site))
        if not form.errors:
            try:
                place = catalog.location_move(actor=actor, location=place, parent=parent)
            except DomainError as error:
                _form_error(form, error)
            else:
                where = f"under {parent.code}" if parent else "to the top of the site"
                messages.success(request, f"Location {place.code} moved {where}.")
                return redirect("web:location", location_id=place.pk)
    for errors in form.errors.values():
        messages.error(request, " ".join(map(str, errors)))
    return redirect("web:location", location_id=place.pk)


@page_requires(CATALOG_MANAGE)
@require_POST
def location_archive(request, location_id: int):
    place = selectors.location_get(actor=request.actor, location_id=location_id)
    announce(request, lambda: catalog.location_archive(actor=request.actor, location=place),
             lambda done: f"Location {done.code} and everything under it archived.")
    return redirect("web:location", location_id=place.pk)


# Alerts ----------------------------------------------------------------------------------------------------

@page_requires(INVENTORY_VIEW)
@require_GET
def alerts(request):
    actor = request.actor
    form = AlertFilterForm(request.GET or None, sites=site_selectors.sites_visible(actor=actor).order_by("code"))
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        status = data.get("status", "")
        site = data.get("site")
        rows = selectors.alerts_of(actor=actor, status=status if status not in ("", "all") else None,
                                   kind=data.get("kind") or None, severity=data.get("severity") or None,
                                   site_id=site.pk if site else None)
        if not status:
            rows = rows.exclude(status=StockAlert.Status.RESOLVED)
        page = _page(rows, request, newest_first=True)
    return render(request, "inventory/alerts.html", {
        "form": form, "page": page, "query": _query_without_cursor(request),
        "can_manage": actor.can(ALERTS_MANAGE),
        "recheck_job": followed_job(request) if actor.can(ALERTS_MANAGE) else None,
    })


@page_requires(ALERTS_MANAGE)
@require_POST
def alerts_recheck(request):
    task_id = alert_services.alerts_recheck_start(actor=request.actor)
    messages.success(request, "Rechecking every alert; progress below.")
    return redirect(f"{reverse('web:alerts')}?job={task_id}")


def _alert_action(request, alert_id: int, service, done: str):
    alert = selectors.alert_get(actor=request.actor, alert_id=alert_id)
    announce(request, lambda: service(actor=request.actor, alert=alert),
             lambda changed: f"Alert “{changed.message}” {done}.")
    return _back(request, "web:alerts")


@page_requires(ALERTS_MANAGE)
@require_POST
def alert_acknowledge(request, alert_id: int):
    return _alert_action(request, alert_id, alert_services.alert_acknowledge, "acknowledged")


@page_requires(ALERTS_MANAGE)
@require_POST
def alert_resolve(request, alert_id: int):
    return _alert_action(request, alert_id, alert_services.alert_resolve, "resolved")
