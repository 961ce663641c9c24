"""Import and export pages: upload a file (checked first by default), follow the job, read the errors,
apply a clean check, download exports."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from stocktrace.core.errors import DomainError
from stocktrace.imports import selectors, services
from stocktrace.imports.models import ImportRun
from stocktrace.imports.permissions import INVENTORY_IMPORT
from stocktrace.imports.uploads import guard_upload, too_large, upload_too_large
from stocktrace.web.actions import announce
from stocktrace.web.decorators import page_requires

RUNS_SHOWN = 50
COLUMNS = {
    "items": "sku, name, unit, unit_cost, min_level, max_level, tracks_lots, tracks_expiry, barcodes",
    "locations": "site_code, code, kind, name, parent_code, barcode",
    "stock": "site_code, location_code, sku, quantity, lot, expires_on, unit_cost",
}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=ImportRun.Kind.choices)
    file = forms.FileField(help_text="CSV (UTF-8, a header row) or XLSX (the first sheet, a header row).")
    dry_run = forms.BooleanField(label="Check only (nothing is written)", required=False, initial=True,
                                 help_text="Untick to check the file and, when no row is bad, apply it.")


def _imports_page(request, form: ImportForm, *, status: int = 200):
    runs = selectors.import_runs_of(actor=request.actor).select_related("created_by").order_by("-pk")[:RUNS_SHOWN]
    return render(request, "imports/imports.html", {"form": form, "runs": runs, "columns": list(COLUMNS.items()),
                                                "kinds": ImportRun.Kind.values}, status=status)


@page_requires(INVENTORY_IMPORT)
@require_GET
def imports(request):
    return _imports_page(request, ImportForm())


@csrf_protect
def _upload(request):
    form = ImportForm(request.POST, request.FILES)
    if upload_too_large(request):
        form.add_error("file", too_large().detail)
        return _imports_page(request, form, status=413)
    if not form.is_valid():
        return _imports_page(request, form, status=422)
    upload = form.cleaned_data["file"]
    try:
        run = services.import_upload(actor=request.actor, kind=form.cleaned_data["kind"], filename=upload.name,
                                     chunks=upload.chunks(), dry_run=form.cleaned_data["dry_run"])
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.detail)
        return _imports_page(request, form, status=error.status)
    messages.success(request, f"{run.filename} was received; it is being "
                              f"{'checked' if run.dry_run else 'checked, then applied if no row is bad'}.")
    return redirect("web:import_run", run_id=run.pk)


# The size guard must be in place before anything reads the form, the CSRF check included: so CSRF is
# checked here, after it, rather than by the middleware (Django's documented pattern for upload handlers).
@csrf_exempt
@page_requires(INVENTORY_IMPORT)
@require_POST
def imports_upload(request):
    try:
        guard_upload(request)
    except DomainError as error:
        form = ImportForm()
        form.add_error(None, error.detail)
        return _imports_page(request, form, status=error.status)
    return _upload(request)


@page_requires(INVENTORY_IMPORT)
@require_GET
def import_run(request, run_id: int):
    run = selectors.import_run_get(actor=request.actor, run_id=run_id)
    return render(request, "imports/run.html", {
        "run": run, "summary": services.import_run_summary(run),
        "running": not run.finished and run.task_id is not None,
        "error_count": len(run.errors) + run.errors_omitted, "columns": COLUMNS[run.kind],
        "result": [(name.replace("_", " "), value) for name, value in run.result.items()]
        if run.status == ImportRun.Status.APPLIED else []})


@page_requires(INVENTORY_IMPORT)
@require_POST
def import_apply(request, run_id: int):
    run = selectors.import_run_get(actor=request.actor, run_id=run_id)
    announce(request, lambda: services.import_apply(actor=request.actor, run=run),
             lambda _: f"Applying {run.filename}: all of it or, if anything is refused, nothing.")
    return redirect("web:import_run", run_id=run.pk)
