"""The import loop. Rows are read one at a time and parsed on their own (types, required cells, duplicates
in the file), then checked in batches against the database (references, conflicts) and, when applying
and nothing was bad so far, written in batches with bulk inserts and updates.

Memory stays flat whatever the file's size: a batch of rows, plus what an importer must remember of the
rows before (e.g. one hash per SKU to find duplicates)."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from stocktrace.core.errors import InvalidInput
from stocktrace.imports import fields
from stocktrace.imports.bulk import index_lookups, refresh_statistics
from stocktrace.imports.readers import FileProblem, rows_of
from stocktrace.tenancy.actor import Actor

BATCH_SIZE = 2000
PROGRESS_EVERY = 5000
ERRORS_KEPT = 1000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": self.reason}


class Row:
    __slots__ = ("line", "cells", "errors", "data")

    def __init__(self, line: int, cells: dict):
        self.line = line
        self.cells = cells
        # PostgreSQL cannot store NUL characters: refuse them in the check, not halfway through the apply.
        self.errors: list[tuple[str, str]] = [(column, "contains a NUL character") for column, value in cells.items()
                                              if isinstance(value, str) and "\x00" in value]
        self.data: dict = {}


@dataclass
class Outcome:
    rows_total: int = 0
    rows_ok: int = 0
    rows_bad: int = 0
    errors: list[dict] = field(default_factory=list)
    errors_omitted: int = 0
    counts: dict = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.errors_omitted

    @property
    def clean(self) -> bool:
        return self.error_count == 0


class Importer(ABC):
    """One kind of import. `parse` sees one row alone, `check` a batch with the database, `write` a
    batch of good rows (only when applying), `finish` runs once after the last write."""

    kind: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    filled: ClassVar[tuple] = ()  # the models it writes many rows to, whose statistics go stale meanwhile

    def __init__(self, *, actor: Actor, writing: bool, reference: str = ""):
        self.actor = actor
        self.organization = actor.organization
        self.writing = writing
        self.reference = reference
        self.counts: dict[str, int] = {}

    def cell(self, row: Row, column: str, convert: Callable, *args, **kwargs):
        """The converted cell, or None (with the error noted on the row) when it is invalid."""
        try:
            return convert(row.cells.get(column), column, *args, **kwargs)
        except InvalidInput as error:
            row.errors.append((column, error.detail))
            return None

    def require(self, row: Row, column: str, value) -> None:
        if (value is None or value == "") and not any(c == column for c, _ in row.errors):
            row.errors.append((column, "required"))

    @abstractmethod
    def parse(self, row: Row) -> None:
        """Validate one row alone and put its values in `row.data` (errors in `row.errors`)."""

    def check(self, rows: list[Row]) -> None:
        """Checks that need the database, for one batch; rows with errors already may be skipped.
        Optional: the default has none."""
        return

    @abstractmethod
    def write(self, rows: list[Row]) -> None:
        """Write a batch of good rows, inside the apply's transaction."""

    def finish(self) -> None:
        """After the last batch was written. Optional: the default does nothing."""
        return

    def written(self, rows: int) -> None:
        """After a batch was written, with the total so far: refresh the planner's statistics each time the
        rows written double (from 5,000), so lookups keep using their indexes."""
        if rows >= self._next_analyze:
            refresh_statistics(self.filled)
            self._next_analyze = rows * 2

    _next_analyze = 5000


def _is_blank(values) -> bool:
    return not any(values) and all(v is None or v == "" for v in values)


def _header(importer: Importer, line: int, values, record) -> list[str] | None:
    names = [fields.text(v).lower() for v in values]
    while names and not names[-1]:
        names.pop()
    ok = True
    seen = set()
    for position, name in enumerate(names, start=1):
        if not name:
            record(line, f"#{position}", "this column has no name")
        elif name not in importer.columns:
            record(line, name, f"unknown column; the columns of {importer.kind} files are "
                               f"{', '.join(importer.columns)}")
        elif name in seen:
            record(line, name, "this column appears twice")
        else:
            seen.add(name)
            continue
        ok = False
    for name in importer.required:
        if name not in seen:
            record(line, name, "this column is missing (it is required)")
            ok = False
    return names if ok else None


def import_pass(importer: Importer, path: Path, fmt: str, *, on_error: Callable[[RowError], None] | None = None,
                on_progress: Callable[[int], None] | None = None, batch_size: int | None = None,
                progress_every: int | None = None, errors_kept: int | None = None) -> Outcome:
    """Read the file once: check every row, and write batches while no row was bad (importer.writing)."""
    batch_size = batch_size or BATCH_SIZE
    progress_every = progress_every or PROGRESS_EVERY
    errors_kept = ERRORS_KEPT if errors_kept is None else errors_kept
    outcome = Outcome()

    def record(line: int, column: str, reason: str) -> None:
        error = RowError(line, column, reason)
        if len(outcome.errors) < errors_kept:
            outcome.errors.append(error.as_dict())
        else:
            outcome.errors_omitted += 1
        if on_error is not None:
            on_error(error)

    def flush(batch: list[Row]) -> None:
        with index_lookups():
            importer.check(batch)
            for row in batch:
                if row.errors:
                    outcome.rows_bad += 1
                    for column, reason in row.errors:
                        record(row.line, column, reason)
                else:
                    outcome.rows_ok += 1
            if importer.writing and outcome.clean:
                importer.write(batch)
                importer.written(outcome.rows_ok)

    batch: list[Row] = []
    with rows_of(path, fmt) as rows:
        try:
            first = next(rows, None)
            if first is None:
                record(1, "", "the file is empty: its first row must name the columns")
                return outcome
            names = _header(importer, first[0], first[1], record)
            if names is None:
                return outcome
            width = len(names)
            for line, values in rows:
                if _is_blank(values):
                    continue
                row = Row(line, dict(zip(names, values, strict=False)))
                if len(values) > width and not _is_blank(values[width:]):
                    row.errors.append(("", f"this row has more values than the header has columns ({width})"))
                outcome.rows_total += 1
                importer.parse(row)
                batch.append(row)
                if len(batch) >= batch_size:
                    flush(batch)
                    batch = []
                if on_progress is not None and outcome.rows_total % progress_every == 0:
                    on_progress(outcome.rows_total)
        except FileProblem as problem:
            record(problem.line, "", problem.reason)
    if batch:
        flush(batch)
    if importer.writing and outcome.clean:
        importer.finish()
    outcome.counts = dict(importer.counts)
    return outcome
