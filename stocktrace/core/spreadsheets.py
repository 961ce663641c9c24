"""Writing an export as it is read: CSV line by line, XLSX through openpyxl's write-only workbook (which
keeps one row in memory and spools the sheet to a temporary file until it is zipped).

Text never becomes a formula (formulas.py): in CSV it gets a leading apostrophe where a spreadsheet would
run it; in XLSX it is a text cell, which no spreadsheet runs, so it is written exactly as it is. Numbers and
dates come typed from the selectors and are never escaped."""

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.utils import timezone

from stocktrace.core.formulas import csv_escape

# What an XML document cannot hold: control characters other than tab and line breaks, and lone surrogates.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_escape(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # Decimal, int, date


class _Lines:
    """The csv writer's file: hands each line back, ending in "\n". The writer is told lines end in "\r\n"
    because it quotes a cell only for the characters of its line end: a carriage return inside a text must be
    quoted too, or a spreadsheet breaks the row there and the import refuses the file."""

    def write(self, line: str) -> str:
        return line[:-2] + "\n"


def csv_chunks(columns: Iterable[str], rows: Iterable[tuple], *, lines_per_chunk: int = 500) -> Iterator[str]:
    writer = csv.writer(_Lines(), lineterminator="\r\n")
    yield writer.writerow(columns)
    chunk = []
    for row in rows:
        chunk.append(writer.writerow([_csv_cell(v) for v in row]))
        if len(chunk) >= lines_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def write_csv(columns, rows, handle) -> int:
    count = -1
    for chunk in csv_chunks(columns, rows, lines_per_chunk=1):
        handle.write(chunk)
        count += 1
    return count


def _xlsx_cell(sheet, value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        # A spreadsheet's date and time has no time zone (openpyxl refuses an aware one): the local time.
        return timezone.make_naive(value)
    if isinstance(value, str):
        # openpyxl refused the whole export for one such character; they are left out of this format (CSV
        # keeps them).
        value = _NOT_IN_XML.sub("", value)
    # openpyxl types a str beginning with "=" as a formula cell and "#N/A" (any error code) as an error
    # cell; handed a cell whose type is set to string, it writes the text as text.
    if isinstance(value, str) and value.startswith(("=", "#")):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def write_xlsx(columns, rows, target, *, title: str = "export") -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    sheet.append(list(columns))
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        count += 1
    workbook.save(target)
    return count
