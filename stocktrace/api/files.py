"""Answering a table as a file: CSV (small ones whole, with a Content-Length; past the buffer the rest streams as
it is read) or XLSX (openpyxl builds the workbook, spooled to disk, before the first byte can go out)."""

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from stocktrace.core.spreadsheets import CONTENT_TYPES, csv_chunks, write_xlsx

_Answer = TypeVar("_Answer", bound=HttpResponseBase)


def spreadsheet_doc(description: str) -> dict[str, Any]:
    """The `openapi_extra` of an endpoint answering a spreadsheet."""
    return {"responses": {200: {"description": description, "content": {
        "text/csv": {"schema": {"type": "string"}},
        CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    }}}}


def _attachment(response: _Answer, name: str, fmt: str) -> _Answer:
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate().isoformat()}.{fmt}"'
    return response


def _buffer_bytes() -> int:
    return int(getattr(settings, "STOCKTRACE_EXPORT_BUFFER_BYTES", 1024 * 1024))


def _csv_response(columns: Sequence[str], rows: Iterable[tuple], name: str) -> HttpResponseBase:
    chunks = csv_chunks(columns, rows)
    head, size = [], 0
    for chunk in chunks:
        data = chunk.encode("utf-8")
        head.append(data)
        size += len(data)
        if size > _buffer_bytes():
            def stream(first=tuple(head)):
                yield from first
                for rest in chunks:
                    yield rest.encode("utf-8")

            return _attachment(StreamingHttpResponse(stream(), content_type=CONTENT_TYPES["csv"]), name, "csv")
    return _attachment(HttpResponse(b"".join(head), content_type=CONTENT_TYPES["csv"]), name, "csv")


def _xlsx_response(columns: Sequence[str], rows: Iterable[tuple], name: str) -> HttpResponseBase:
    spool = tempfile.NamedTemporaryFile(suffix=".xlsx")  # FileResponse closes it, which deletes it
    write_xlsx(columns, rows, spool.name, title=name)
    size = Path(spool.name).stat().st_size
    if size <= _buffer_bytes():
        with spool, open(spool.name, "rb") as handle:
            return _attachment(HttpResponse(handle.read(), content_type=CONTENT_TYPES["xlsx"]), name, "xlsx")
    spool.seek(0)
    return _attachment(FileResponse(spool, content_type=CONTENT_TYPES["xlsx"]), name, "xlsx")


def spreadsheet_response(columns: Sequence[str], rows: Iterable[tuple], *, name: str,
                         fmt: str) -> HttpResponseBase:
    """`name-<today>.csv` or `.xlsx`, as an attachment."""
    return _xlsx_response(columns, rows, name) if fmt == "xlsx" else _csv_response(columns, rows, name)
