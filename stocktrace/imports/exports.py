"""Writing an export as it is read: CSV line by line, XLSX through openpyxl's write-only workbook (which
keeps one row in memory and spools the sheet to a temporary file until it is zipped)."""

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | date):
        return str(value)
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(columns: Iterable[str], rows: Iterable[tuple], *, lines_per_chunk: int = 500) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(columns)
    chunk = []
    for row in rows:
        chunk.append(writer.writerow([_text(v) for v in row]))
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


def write_xlsx(columns, rows, target, *, title: str = "export") -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    sheet.append(list(columns))
    count = 0
    for row in rows:
        sheet.append(list(row))
        count += 1
    workbook.save(target)
    return count
