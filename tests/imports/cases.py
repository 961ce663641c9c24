"""The imports app's API endpoints and pages: imports and exports (tests/cases.py describes the convention)."""

import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from stocktrace.imports.models import ImportRun
from tests.cases import Case, FormData, Page


def _import_run(own, role, target, *, status: str = "invalid") -> dict:
    """A finished import of the target tenant (with its file kept, so a valid one can be applied)."""
    from stocktrace.imports.services import stored_path

    run = ImportRun.objects.create(organization=target.organization, kind="items", format="csv",
                                   filename="items.csv", stored_name=f"{uuid.uuid4().hex}.csv", status=status,
                                   rows_total=1, rows_ok=0 if status == "invalid" else 1,
                                   rows_bad=1 if status == "invalid" else 0,
                                   errors=[{"line": 2, "column": "sku", "reason": "required"}]
                                   if status == "invalid" else [])
    path = stored_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("sku,name\nIMP-1,Imported\n")
    return {"run_id": run.pk}


def _valid_import_run(own, role, target) -> dict:
    return _import_run(own, role, target, status="valid")


API_CASES: dict[str, Case] = {
    "POST /imports": Case(body=lambda *a: FormData(kind="items", file=SimpleUploadedFile(
                              "items.csv", b"sku,name\nIMP-1,Imported\n", content_type="text/csv")),
                          audit_action="import.create", success=202),
    "POST /imports/text": Case(body=lambda *a: {"kind": "items", "filename": "items.csv",
                                                "content": "sku,name\nIMP-1,Imported\n"},
                               audit_action="import.create", success=202),
    "GET /imports": Case(),
    "GET /imports/{run_id}": Case(params=_import_run, crosses_tenants=True),
    "POST /imports/{run_id}/apply": Case(params=_valid_import_run, audit_action="import.apply", crosses_tenants=True,
                                         success=202),
    "GET /exports/{kind}": Case(params=lambda *a: {"kind": "items"}),
}

PAGES: dict[str, Page] = {
    "imports": Page(),
    "imports_upload": Page("POST", data=lambda *a: {"kind": "items", "dry_run": "on", "file": SimpleUploadedFile(
        "items.csv", b"sku,name\nIMP-9,Imported\n", content_type="text/csv")}),
    "import_run": Page(kwargs=_import_run),
    "import_apply": Page("POST", kwargs=_valid_import_run, data=lambda *a: {}),
}


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /imports": 4,
    "imports": 5,
    "import_run": 5,
}


def make_rows(tenant, count: int) -> None:
    """More import runs."""
    for _ in range(count):
        _import_run(tenant, None, tenant)
