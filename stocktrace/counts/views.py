"""Count pages: the list and planning, a count's supervision page (refreshing itself), an area's review, the
label sheet, and the scanning page a counter's phone or handheld keeps open."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from stocktrace.api.files import spreadsheet_response
from stocktrace.core.code128 import code128_svg
from stocktrace.core.errors import DomainError, NotFound
from stocktrace.counts import selectors
from stocktrace.counts.forms import AreasForm, ClaimForm, PlanForm, ReasonForm
from stocktrace.counts.models import CountMode, DriftChoice, SessionStatus
from stocktrace.counts.permissions import COUNTS_EXPECTED, COUNTS_MANAGE, COUNTS_SCAN, COUNTS_VIEW
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import completion, scans, sessions
from stocktrace.inventory import selectors as inventory
from stocktrace.tenancy import selectors as site_selectors
from stocktrace.web.actions import announce
from stocktrace.web.decorators import page_requires

REPORT_COLUMNS = ("area", "location", "sku", "name", "lot", "expected", "counted", "moved during the count",
                  "choice", "correction posted", "unit cost", "value of the correction", "counted by",
                  "approved by", "approved at")
SHOWN = 200  # areas, scans or lines on one page


@page_requires(COUNTS_VIEW)
@require_GET
def counts(request):
    actor = request.actor
    sites = site_selectors.sites_visible(actor=actor).order_by("code")
    plan = PlanForm(sites=sites) if actor.can(COUNTS_MANAGE) else None
    return render(request, "counts/counts.html", {
        "counts": selectors.sessions_visible(actor=actor).order_by("-pk")[:SHOWN], "plan": plan,
        "held": selectors.areas_held_by(actor=actor) if actor.can(COUNTS_SCAN) else []})


@page_requires(COUNTS_MANAGE)
@require_POST
def count_plan(request):
    actor = request.actor
    form = PlanForm(request.POST, sites=site_selectors.sites_visible(actor=actor))
    if form.is_valid():
        try:
            session = sessions.session_plan(actor=actor, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.detail)
        else:
            messages.success(request, f"Count {session.name} planned: add its areas, then start it.")
            return redirect("web:count", count_id=session.pk)
    return render(request, "counts/counts.html", {"counts": selectors.sessions_visible(actor=actor)[:SHOWN],
                                                  "plan": form, "held": []}, status=422)


def _count_context(request, session) -> dict:
    actor = request.actor
    areas = list(selectors.areas_of(actor=actor, session=session).order_by("barcode")[:SHOWN])
    return {
        "count": session, "progress": selectors.session_progress(session), "areas": areas,
        "queue": [area for area in areas if area.status == "ready_for_approval"],
        "scanners": selectors.scanner_status(session) if actor.can(COUNTS_MANAGE) else None,
        "exceptions": selectors.exceptions_of(actor=actor, session=session, status="open")[:SHOWN],
        "can_manage": actor.can(COUNTS_MANAGE), "can_report": actor.can(COUNTS_EXPECTED),
        "mine": selectors.personal_stats(session, actor) if actor.can(COUNTS_SCAN) and actor.membership else None,
    }


@page_requires(COUNTS_VIEW)
@require_GET
def count(request, count_id: int):
    session = selectors.session_get(actor=request.actor, session_id=count_id)
    return render(request, "counts/count.html", {**_count_context(request, session), "areas_form": AreasForm(),
                                                 "cancel_form": ReasonForm()})


@page_requires(COUNTS_VIEW)
@require_GET
def count_live(request, count_id: int):
    """The supervision panels alone, which the count's page fetches every few seconds while it runs."""
    session = selectors.session_get(actor=request.actor, session_id=count_id)
    return render(request, "counts/live.html", _count_context(request, session))


@page_requires(COUNTS_MANAGE)
@require_POST
def count_areas_add(request, count_id: int):
    actor = request.actor
    session = selectors.session_get(actor=actor, session_id=count_id)
    form = AreasForm(request.POST)
    locations, missing = [], []
    if form.is_valid():
        if form.cleaned_data["kind"]:
            locations = list(inventory.locations_visible(actor=actor, site_id=session.site_id)
                             .filter(kind=form.cleaned_data["kind"]))
        for code in form.cleaned_data["codes"].split():
            try:
                locations.append(inventory.location_by_code(actor=actor, code=code, site=session.site))
            except NotFound:
                missing.append(code)
    if missing:
        messages.error(request, f"No location with the code or barcode {', '.join(missing[:5])} in "
                                f"{session.site.code}; nothing was added.")
    else:
        announce(request, lambda: sessions.areas_add(actor=actor, session=session, locations=locations),
                 lambda areas: f"{len(areas)} area{'s' if len(areas) != 1 else ''} added.")
    return redirect("web:count", count_id=session.pk)


def _session_action(request, count_id: int, action, success: str):
    session = selectors.session_get(actor=request.actor, session_id=count_id)
    announce(request, lambda: action(session), lambda _: success.format(name=session.name))
    return redirect("web:count", count_id=session.pk)


@page_requires(COUNTS_MANAGE)
@require_POST
def count_start(request, count_id: int):
    return _session_action(request, count_id, lambda s: sessions.session_start(actor=request.actor, session=s),
                           "Count {name} started: what every area holds is snapshotted. Counters can claim areas.")


@page_requires(COUNTS_MANAGE)
@require_POST
def count_cancel(request, count_id: int):
    reason = request.POST.get("reason", "")
    return _session_action(request, count_id,
                           lambda s: sessions.session_cancel(actor=request.actor, session=s, reason=reason),
                           "Count {name} cancelled.")


@page_requires(COUNTS_MANAGE)
@require_POST
def count_complete(request, count_id: int):
    return _session_action(request, count_id,
                           lambda s: completion.session_complete(actor=request.actor, session=s),
                           "Count {name} completed: its corrections are in the ledger and its report is frozen.")


@page_requires(COUNTS_EXPECTED)
@require_GET
def count_report(request, count_id: int):
    session = selectors.session_get(actor=request.actor, session_id=count_id)
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    return spreadsheet_response(REPORT_COLUMNS, selectors.report_rows(session), name=f"count-{session.pk}", fmt=fmt)


@page_requires(COUNTS_VIEW)
@require_GET
def count_labels(request, count_id: int):
    """A sheet of the areas' labels to print and stick on the racks: the barcode a counter scans to claim one."""
    session = selectors.session_get(actor=request.actor, session_id=count_id)
    areas = list(selectors.areas_of(actor=request.actor, session=session).order_by("barcode"))
    for area in areas:
        area.barcode_svg = code128_svg(area.barcode, height=48)  # type: ignore[attr-defined]  # for the template
    return render(request, "counts/labels.html", {"count": session, "areas": areas})


@page_requires(COUNTS_VIEW)
@require_GET
def count_area(request, area_id: int):
    actor = request.actor
    area = selectors.area_get(actor=actor, area_id=area_id)
    sees_expected = actor.can(COUNTS_EXPECTED) or area.session.mode == CountMode.VISIBLE
    lines = selectors.area_variance(area) if sees_expected else []
    names = selectors.line_names(lines)
    return render(request, "counts/area.html", {
        "area": area, "lines": [(line, names[(line.item_id, line.location_id)]) for line in lines],
        "sees_expected": sees_expected,
        "counted": None if sees_expected else selectors.area_counted_named(area),
        "scans": selectors.scans_of(actor=actor, area=area).order_by("-pk")[:SHOWN],
        "can_manage": actor.can(COUNTS_MANAGE), "choices": DriftChoice.choices,
        "counters": selectors.counters_for(area.session) if actor.can(COUNTS_MANAGE) else [],
    })


@page_requires(COUNTS_MANAGE)
@require_POST
def count_area_action(request, area_id: int, action: str):
    actor = request.actor
    area = selectors.area_get(actor=actor, area_id=area_id)
    if action == "approve":
        choices = {}
        for key, choice in request.POST.items():
            if key.startswith("move-"):
                item, location, lot = key.removeprefix("move-").split(":", 2)
                choices[(int(item), int(location), lot)] = choice
        announce(request, lambda: area_services.area_approve(actor=actor, area=area, choices=choices),
                 lambda a: f"Area {a.barcode} approved.")
    elif action == "reject":
        announce(request, lambda: area_services.area_reject(actor=actor, area=area,
                                                            reason=request.POST.get("reason", "")),
                 lambda a: f"Area {a.barcode} sent back for a recount.")
    elif action == "release":
        announce(request, lambda: area_services.area_release(actor=actor, area=area),
                 lambda a: f"Area {a.barcode} released: anyone can claim it.")
    elif action == "assign":
        announce(request, lambda: area_services.area_assign(
            actor=actor, area=area, holder=selectors.counter_get(area.session, request.POST.get("membership", ""))),
            lambda a: f"Area {a.barcode} assigned.")
    else:
        raise NotFound("No such action")
    return redirect("web:count_area", area_id=area.pk)


@page_requires(COUNTS_MANAGE)
@require_POST
def count_exception_action(request, exception_id: int, action: str):
    actor = request.actor
    exception = selectors.exception_get(actor=actor, exception_id=exception_id)
    if action == "map":
        announce(request, lambda: scans.exception_map(
            actor=actor, exception=exception, item=_item(actor, request.POST.get("item", "")),
            add_barcode=request.POST.get("add_barcode") == "on"), lambda e: f"{e.scan.code} taken into the count.")
    elif action == "dismiss":
        announce(request, lambda: scans.exception_dismiss(actor=actor, exception=exception,
                                                          reason=request.POST.get("reason", "")),
                 lambda e: f"{e.scan.code} left out of the count.")
    else:
        raise NotFound("No such action")
    return redirect("web:count", count_id=exception.session_id)


def _item(actor, code: str):
    if not code.strip():
        return None
    return inventory.item_by_code(actor=actor, code=code)


@page_requires(COUNTS_SCAN)
@require_GET
def count_scan(request, area_id: int | None = None):
    """The scanning page: with no area, a field to claim one by its label; with one, the scan field."""
    actor = request.actor
    if area_id is None:
        return render(request, "counts/claim.html", {"form": ClaimForm(), "held": selectors.areas_held_by(
            actor=actor)})
    area = selectors.area_get(actor=actor, area_id=area_id)
    return render(request, "counts/scan.html", {
        "area": area, "my_total": selectors.my_area_total(area, actor),
        "open": area.session.status == SessionStatus.IN_PROGRESS and area.status in ("assigned", "counting")})


@page_requires(COUNTS_SCAN)
@require_POST
def count_claim(request):
    actor = request.actor
    form = ClaimForm(request.POST)
    if form.is_valid():
        try:
            area = area_services.area_claim(actor=actor, area=selectors.area_by_barcode(
                actor=actor, barcode=form.cleaned_data["barcode"]))
        except DomainError as error:
            form.add_error("barcode", error.detail)
        else:
            return redirect("web:count_scan_area", area_id=area.pk)
    return render(request, "counts/claim.html", {"form": form, "held": selectors.areas_held_by(actor=actor)},
                  status=422)


@page_requires(COUNTS_SCAN)
@require_POST
def count_area_submit(request, area_id: int):
    area = selectors.area_get(actor=request.actor, area_id=area_id)
    announce(request, lambda: area_services.area_submit(actor=request.actor, area=area),
             lambda a: f"Area {a.barcode} submitted." if a.status != "rejected" else a.reject_reason)
    return redirect("web:count_scan")
