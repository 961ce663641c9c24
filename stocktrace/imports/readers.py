"""Reading an import file one row at a time, never the whole file: CSV (UTF-8, a header row) and XLSX
(the first sheet, a header row; openpyxl in read-only mode). A CSV cell comes without the apostrophe an
export puts before a text a spreadsheet would run as a formula (formulas.py); XLSX text cells need none."""

import csv
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stocktrace.core.formulas import csv_unescape

CSV_FIELD_LIMIT = 1024 * 1024


class FileProblem(Exception):
    """The file cannot be read on (not UTF-8, not CSV, not a workbook): reported at a line, ends the run."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _utf8_lines(handle) -> Iterator[str]:
    # Decoding line by line (UTF-8 never has a newline byte inside a character) pins an encoding error
    # to its line, where a text-mode file would fail somewhere in the 8 KiB block around it.
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FileProblem(number, f"the file is not UTF-8 text (byte {error.start + 1} of the line); "
                                      "save it as 'CSV UTF-8'") from error
        yield line[1:] if number == 1 and line.startswith("\ufeff") else line


def _csv_rows(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    with path.open("rb") as handle:
        reader = csv.reader(_utf8_lines(handle))
        last = 0
        try:
            for values in reader:
                start, last = last + 1, reader.line_num
                yield start, [csv_unescape(value) for value in values]
        except csv.Error as error:
            raise FileProblem(last + 1, f"this is not valid CSV: {error}") from error


def _xlsx_rows(path: Path) -> Generator[tuple[int, tuple[Any, ...]], None, None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zipfile, openpyxl and lxml each have their own for a damaged file
        raise FileProblem(1, f"this is not an XLSX workbook ({type(error).__name__}: {error})") from error
    try:
        if not workbook.worksheets:
            raise FileProblem(1, "the workbook has no sheet")
        sheet = workbook.worksheets[0]
        number = 0
        try:
            # read_only sheets yield every row from the first, empty ones included, so the count is the
            # row number the spreadsheet shows.
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, values
        except FileProblem:
            raise
        except Exception as error:
            raise FileProblem(number + 1, f"the sheet cannot be read ({type(error).__name__}: {error})") from error
    finally:
        workbook.close()


@contextmanager
def rows_of(path: Path, fmt: str) -> Iterator[Generator[tuple[int, Sequence[Any]], None, None]]:
    """Yields an iterator of (line, values) from the header row on; FileProblem when unreadable."""
    rows = _csv_rows(path) if fmt == "csv" else _xlsx_rows(path)
    try:
        yield rows
    finally:
        rows.close()


def estimate_rows(path: Path, fmt: str) -> int:
    """About how many data rows the file has (for a progress bar): newlines for CSV, the sheet's
    declared dimension for XLSX (0 when unknown)."""
    try:
        if fmt == "csv":
            count, last = 0, b""
            with path.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    count += chunk.count(b"\n")
                    last = chunk[-1:]
            if last and last != b"\n":
                count += 1
            return max(0, count - 1)
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
        try:
            return max(0, (workbook.worksheets[0].max_row or 1) - 1) if workbook.worksheets else 0
        finally:
            workbook.close()
    except Exception:  # an unreadable file is reported by the reader itself
        return 0
