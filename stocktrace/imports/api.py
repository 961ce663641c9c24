"""Imports (upload, check, apply) and exports of items, locations and opening stock."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from stocktrace.accounts.authentication import api_auth
from stocktrace.api.files import spreadsheet_doc, spreadsheet_response
from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import Cursor, Filters, Flag, Input, ObjectId
from stocktrace.core.errors import InvalidInput, UnsupportedMediaType
from stocktrace.imports import selectors, services
from stocktrace.imports.models import ImportFormat, ImportKind, ImportStatus
from stocktrace.imports.permissions import INVENTORY_IMPORT
from stocktrace.imports.uploads import guard_upload, too_large, upload_too_large

router = Router(tags=["imports"])
exports_router = Router(tags=["imports"])
ROUTES = [("/imports", router), ("/exports", exports_router)]

Kind = Literal["items", "locations", "stock"]
FormatName = Literal["csv", "xlsx"]


class RowErrorOut(Schema):
    line: int
    column: str
    reason: str


class ImportRunOut(Schema):
    id: int
    kind: ImportKind
    format: ImportFormat
    filename: str
    size_bytes: int
    status: ImportStatus
    dry_run: bool
    rows_total: int
    rows_ok: int
    rows_bad: int
    error_count: int = Field(description="every error found, including those beyond the first 1,000 kept")
    result: dict[str, int] = Field(description="after an apply: what was created, updated, received")
    message: str
    task_id: UUID | None = Field(description="the job; follow it at /api/v1/jobs/{task_id}/progress")
    created_by_email: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    applied_at: datetime | None

    @staticmethod
    def resolve_error_count(obj):
        return len(obj.errors) + obj.errors_omitted

    @staticmethod
    def resolve_created_by_email(obj):
        return obj.created_by.email if obj.created_by_id else None


class ImportRunDetail(ImportRunOut):
    errors: list[RowErrorOut] = Field(description="the first 1,000 errors, by line")
    errors_omitted: int = Field(description="errors found beyond those listed")


class ImportRunPage(Page):
    items: list[ImportRunOut]


class ImportFilters(Filters):
    status: ImportStatus | None = None
    kind: ImportKind | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class ImportText(Input):
    kind: ImportKind
    filename: str = Field("import.csv", min_length=1, max_length=255, pattern=r"^[^\u0000]*\.[Cc][Ss][Vv]$",
                          description="ends in .csv")
    content: str = Field(min_length=1, description="the CSV text, header row first")
    dry_run: Flag = Field(True, description="only check the file (the default); false checks and applies")


class ExportFilters(Filters):
    format: FormatName = "csv"


class _UploadGuard:
    """Runs before authentication, which may parse the body (the session's CSRF check reads the form):
    refuses a body declared too large and caps the file as it streams in. Never authenticates anyone."""

    def __call__(self, request):
        guard_upload(request)
        return None


def _form_flag(value: str | None, field: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value in ("true", "false"):  # as strict as JSON booleans: 1, 0 or "yes" are errors
        return value == "true"
    raise InvalidInput(f"{field} is true or false", field=field)


def _upload_from_form(request) -> dict:
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("Send the file as multipart/form-data (or CSV text as JSON to "
                                   "POST /api/v1/imports/text)")
    upload = request.FILES.get("file")
    if upload_too_large(request):
        raise too_large()
    if upload is None:
        raise InvalidInput("Attach the file as the form field 'file'", field="file")
    return {"kind": request.POST.get("kind", ""), "filename": upload.name or "", "chunks": upload.chunks(),
            "dry_run": _form_flag(request.POST.get("dry_run"), "dry_run", True),
            "fmt": request.POST.get("format") or None}


_KIND_ENUM = {"type": "string", "enum": list(ImportKind.values)}
UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["kind", "file"],
                "properties": {
                    "kind": _KIND_ENUM,
                    "file": {"type": "string", "format": "binary",
                             "description": "CSV (UTF-8, header row) or XLSX (first sheet, header row)"},
                    # Form fields are text: "true" or "false", as strict as a JSON boolean.
                    "dry_run": {"type": "string", "enum": ["true", "false"], "default": "true",
                                "description": "only check the file (the default); false checks and applies"},
                    "format": {"type": "string", "enum": list(ImportFormat.values),
                               "description": "default: from the file name's extension"},
                },
            }},
        },
    },
}


@router.post("", response={202: ImportRunOut}, auth=[_UploadGuard(), *api_auth], openapi_extra=UPLOAD_DOC)
@requires(INVENTORY_IMPORT)
def imports_create(request):
    """Upload a file of items, locations or opening stock as multipart/form-data (CSV or XLSX, up to
    STOCKTRACE_IMPORT_MAX_BYTES). It is checked by a background job (a dry run, the default), or with
    `dry_run=false` checked and then applied all-or-nothing. Follow the job at
    `/api/v1/jobs/{task_id}/progress`, then read the run for its errors."""
    run = services.import_upload(actor=request.auth, **_upload_from_form(request))
    return Status(202, run)


@router.post("/text", response={202: ImportRunOut})
@requires(INVENTORY_IMPORT)
def imports_create_from_text(request, payload: ImportText):
    """The same for a small CSV sent as JSON text (within the API's body limit, 1 MiB)."""
    run = services.import_upload(actor=request.auth, kind=payload.kind, filename=payload.filename,
                                 chunks=[payload.content.encode("utf-8")], dry_run=payload.dry_run, fmt="csv")
    return Status(202, run)


@router.get("", response=ImportRunPage)
@requires(INVENTORY_IMPORT)
def imports_index(request, filters: Query[ImportFilters]):
    runs = selectors.import_runs_of(actor=request.auth).select_related("created_by")
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.kind:
        runs = runs.filter(kind=filters.kind)
    return keyset_page(runs, cursor=filters.cursor, limit=filters.limit)


@router.get("/{run_id}", response=ImportRunDetail)
@requires(INVENTORY_IMPORT)
def imports_show(request, run_id: ObjectId):
    """A run with its status, counts and the first 1,000 errors (line, column, reason)."""
    return selectors.import_run_get(actor=request.auth, run_id=run_id)


@router.post("/{run_id}/apply", response={202: ImportRunOut})
@requires(INVENTORY_IMPORT)
def imports_apply(request, run_id: ObjectId):
    """Apply the file of a dry run that found no errors (status `valid`): a new job checks it again and
    writes it in one transaction."""
    run = selectors.import_run_get(actor=request.auth, run_id=run_id)
    return Status(202, services.import_apply(actor=request.auth, run=run))


EXPORT_DOC = spreadsheet_doc("The file, in the columns the import reads")


@exports_router.get("/{kind}", openapi_extra=EXPORT_DOC)
@requires(INVENTORY_IMPORT)
def exports_download(request, kind: Kind, filters: Query[ExportFilters]):
    """Items, locations or stock on hand as CSV (streamed as it is read) or XLSX, in the columns the import
    reads: an export imports again unchanged, into this organization or another."""
    columns, rows = selectors.export_rows(actor=request.auth, kind=kind)
    return spreadsheet_response(columns, rows, name=kind, fmt=filters.format)
