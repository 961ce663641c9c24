"""Imports: upload a file (kept on disk), check it in a background job (a dry run), apply it in one
transaction; and the synchronous path of the CLI."""

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from stocktrace.audit.services import audit_record
from stocktrace.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from stocktrace.imports.engine import Outcome, RowError, import_pass
from stocktrace.imports.errors import TooLarge
from stocktrace.imports.kinds import IMPORTERS
from stocktrace.imports.models import ImportRun
from stocktrace.imports.permissions import INVENTORY_IMPORT
from stocktrace.imports.readers import estimate_rows
from stocktrace.jobs.services import job_progress_report
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership

log = logging.getLogger("stocktrace.imports")

Status = ImportRun.Status
ProgressCallback = Callable[[str, int, int], None]
ErrorCallback = Callable[[RowError], None]
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"


def import_max_bytes() -> int:
    return int(getattr(settings, "STOCKTRACE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def storage_dir() -> Path:
    return Path(settings.DATA_DIR) / "imports"


def stored_path(run: ImportRun) -> Path:
    return storage_dir() / str(run.organization_id) / run.stored_name


def format_for(filename: str, fmt: str | None = None) -> str:
    """The format named, or guessed from the file name's extension."""
    if fmt:
        if fmt not in ImportRun.Format.values:
            raise InvalidInput(f"format is one of {', '.join(ImportRun.Format.values)}", field="format")
        return fmt
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix not in ImportRun.Format.values:
        raise InvalidInput("The file name must end in .csv or .xlsx (or name the format)", field="file")
    return suffix


def _kind(kind: str) -> str:
    if kind not in IMPORTERS:
        raise InvalidInput(f"kind is one of {', '.join(IMPORTERS)}", field="kind")
    return kind


def _store(organization_id: int, fmt: str, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write the upload under DATA_DIR/imports/<organization>/, refusing it past the size limit."""
    limit = import_max_bytes()
    folder = storage_dir() / str(organization_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{fmt}"
    path = folder / name
    size = 0
    try:
        with path.open("xb") as out:
            for chunk in chunks:
                if size == 0 and fmt == "xlsx" and not chunk.startswith(XLSX_MAGIC):
                    raise InvalidInput("This is not an XLSX workbook (save it as .xlsx, or upload a CSV)",
                                       field="file")
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"Import files are limited to {limit:,} bytes (STOCKTRACE_IMPORT_MAX_BYTES); "
                                   "split the file", field="file")
                out.write(chunk)
        if size == 0:
            raise InvalidInput("The file is empty", field="file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size


def _discard_file(run: ImportRun) -> None:
    if run.stored_name:
        stored_path(run).unlink(missing_ok=True)


def import_upload(*, actor: Actor, kind: str, filename: str, chunks: Iterable[bytes], dry_run: bool = True,
                  fmt: str | None = None) -> ImportRun:
    """Keep an uploaded file and queue its run: a check (dry run) or a check followed by the apply."""
    actor.require(INVENTORY_IMPORT)
    kind = _kind(kind)
    filename = Path((filename or "").replace("\\", "/")).name.strip()[:255] or f"upload.{fmt or 'csv'}"
    fmt = format_for(filename, fmt)
    stored_name, size = _store(actor.organization.pk, fmt, chunks)
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(organization=actor.organization, kind=kind, format=fmt, filename=filename,
                                           stored_name=stored_name, size_bytes=size, dry_run=dry_run,
                                           created_by=actor.user)
            _enqueue(run)
            audit_record(actor=actor, action="import.create", obj=run, after={
                "kind": kind, "format": fmt, "filename": filename, "size_bytes": size, "dry_run": dry_run,
                "task_id": str(run.task_id)})
    except BaseException:
        (storage_dir() / str(actor.organization.pk) / stored_name).unlink(missing_ok=True)
        raise
    return run


def _enqueue(run: ImportRun) -> None:
    from stocktrace.imports.tasks import run_import

    result = run_import.enqueue(organization_id=run.organization_id, run_id=run.pk)
    run.task_id = result.id
    run.save(update_fields=["task_id"])


@transaction.atomic
def import_apply(*, actor: Actor, run: ImportRun) -> ImportRun:
    """Apply the file of a dry run that found no bad row (checked again, in the apply's transaction)."""
    actor.require(INVENTORY_IMPORT)
    run = ImportRun.objects.select_for_update().get(pk=run.pk, organization=actor.organization)
    if run.status != Status.VALID:
        raise Conflict(f"Only a check that found no errors can be applied; this import is {run.status}")
    if not run.stored_name or not stored_path(run).exists():
        raise Conflict("The file of this import is no longer kept; upload it again")
    _save(run, status=Status.APPLYING, message="")
    _enqueue(run)
    audit_record(actor=actor, action="import.apply", obj=run, before={"status": Status.VALID},
                 after={"status": Status.APPLYING, "task_id": str(run.task_id)})
    return run


class _Rejected(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("rows were refused")
        self.outcome = outcome


def _save(run: ImportRun, **values: Any) -> None:
    for name, value in values.items():
        setattr(run, name, value)
    run.save(update_fields=list(values))


def _counted(run: ImportRun, outcome: Outcome, status: str, **extra: Any) -> None:
    _save(run, status=status, rows_total=outcome.rows_total, rows_ok=outcome.rows_ok, rows_bad=outcome.rows_bad,
          errors=outcome.errors, errors_omitted=outcome.errors_omitted, finished_at=timezone.now(), **extra)


def _apply(run: ImportRun, *, actor: Actor, path: Path, on_error: ErrorCallback | None,
           progress: Callable[[int], None] | None) -> None:
    importer = IMPORTERS[run.kind](actor=actor, writing=True, reference=f"import {run.pk}")
    try:
        with transaction.atomic():
            outcome = import_pass(importer, path, run.format, on_error=on_error, on_progress=progress)
            if not outcome.clean:
                raise _Rejected(outcome)
            now = timezone.now()
            _counted(run, outcome, Status.APPLIED, result=outcome.counts, applied_at=now, message="")
            audit_record(actor=actor, action="import.applied", obj=run, after={
                "kind": run.kind, "filename": run.filename, "rows": outcome.rows_total, **outcome.counts})
            transaction.on_commit(lambda: _discard_file(run))
    except _Rejected as rejected:
        _counted(run, rejected.outcome, Status.INVALID,
                 message="The data changed since the check and rows are now refused; nothing was applied")
        _discard_file(run)


def _execute(run: ImportRun, *, actor: Actor, path: Path, on_error: ErrorCallback | None = None,
             on_progress: ProgressCallback | None = None) -> ImportRun:
    """Check the file (outside any transaction: a bad file never holds the write lock), then, for an apply,
    read it again inside one transaction, checking and writing batch by batch. A run that resumes in
    `applying` (an apply of a clean dry run, or a retried job) goes straight to the second pass."""
    actor.require(INVENTORY_IMPORT)
    total = estimate_rows(path, run.format)

    def progress(phase: str) -> Callable[[int], None] | None:
        if on_progress is None:
            return None
        return lambda done: on_progress(phase, done, total)

    if run.status in (Status.UPLOADED, Status.VALIDATING):
        _save(run, status=Status.VALIDATING, started_at=timezone.now(), message="")
        outcome = import_pass(IMPORTERS[run.kind](actor=actor, writing=False), path, run.format,
                              on_error=on_error, on_progress=progress("checking"))
        if run.dry_run or not outcome.clean:
            _counted(run, outcome, Status.VALID if outcome.clean else Status.INVALID)
            if not outcome.clean:
                _discard_file(run)
            return run
        _save(run, status=Status.APPLYING)
    if run.status == Status.APPLYING:
        _apply(run, actor=actor, path=path, on_error=on_error, progress=progress("applying"))
    return run


def _fail(run: ImportRun, message: str) -> None:
    run.refresh_from_db()
    _save(run, status=Status.FAILED, message=message[:500], finished_at=timezone.now())


def _actor_of(run: ImportRun) -> Actor:
    if run.created_by_id is None:
        return Actor.system(run.organization, device="import job")
    membership = (Membership.objects.select_related("organization", "user")
                  .filter(organization=run.organization, user_id=run.created_by_id, is_active=True).first())
    if membership is None:
        raise PermissionDenied("The person who uploaded the file is no longer an active member")
    return Actor(organization=membership.organization, membership=membership, device="import job")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def import_run_summary(run: ImportRun) -> str:
    rows = _count(run.rows_total, "row")
    if run.status == Status.APPLIED:
        counts = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in run.result.items())
        return f"Applied {rows}: {counts}"
    if run.status == Status.VALID:
        return f"Checked {rows}: no errors; ready to apply" if run.dry_run else f"Checked {rows}: no errors"
    if run.status == Status.INVALID:
        errors = len(run.errors) + run.errors_omitted
        return f"Checked {rows}: {run.rows_bad:,} bad, {_count(errors, 'error')}; nothing was applied"
    if run.status == Status.FAILED:
        return f"Failed: {run.message}"
    return run.status


class _JobProgress:
    """Reports to the job's progress row. Inside the import's transaction a row written on this connection
    would show only at the commit, so there a short-lived thread (its own connection) writes it on
    PostgreSQL. SQLite allows one writer at a time: there the page shows 'applying' until the end."""

    def __init__(self, task_id: uuid.UUID | str, organization_id: int) -> None:
        self.task_id = task_id
        self.organization_id = organization_id
        self.depth = len(connection.atomic_blocks)
        self.aside = connection.vendor == "postgresql" and self.depth == 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        message = f"{phase.capitalize()}: row {done:,}" + (f" of about {total:,}" if total else "")
        values: dict[str, Any] = {"task_id": self.task_id, "done": done, "total": max(total, done),
                  "message": message, "organization_id": self.organization_id}
        if len(connection.atomic_blocks) == self.depth:
            job_progress_report(**values)
        elif self.aside:
            writer = threading.Thread(target=self._write_aside, kwargs=values, daemon=True)
            writer.start()
            writer.join(timeout=5)

    @staticmethod
    def _write_aside(**values: Any) -> None:
        try:
            job_progress_report(**values)
        except DatabaseError:
            log.warning("import progress not reported", exc_info=True)
        finally:
            connection.close()

    def final(self, run: ImportRun) -> None:
        job_progress_report(task_id=self.task_id, done=run.rows_total, total=run.rows_total,
                            message=import_run_summary(run), organization_id=self.organization_id)


def import_run_execute(*, organization_id: int, run_id: int, task_id: uuid.UUID | str | None = None,
                       final_attempt: bool = True) -> dict[str, Any]:
    """The job's body: run an uploaded import to its end (valid, invalid, applied or failed)."""
    run = ImportRun.objects.select_related("organization").get(pk=run_id, organization_id=organization_id)
    if run.finished:
        return {"status": run.status, "summary": import_run_summary(run)}
    reporter = _JobProgress(task_id, organization_id) if task_id else None
    try:
        actor = _actor_of(run)
        path = stored_path(run)
        if not run.stored_name or not path.exists():
            raise Conflict("The uploaded file is no longer kept; upload it again")
        _execute(run, actor=actor, path=path, on_progress=reporter)
    except DomainError as error:
        _fail(run, error.detail)
    except (OperationalError, InterfaceError) as error:
        if final_attempt:
            _fail(run, f"database error: {error}")
        raise
    except Exception as error:
        _fail(run, f"{type(error).__name__}: {error}")
        raise
    if reporter is not None:
        reporter.final(run)
    return {"status": run.status, "summary": import_run_summary(run), "rows": run.rows_total, "rows_bad": run.rows_bad}


def import_check(*, actor: Actor, kind: str, path: Path, fmt: str, on_error: ErrorCallback | None = None,
                 on_progress: ProgressCallback | None = None) -> Outcome:
    """A dry run of a local file (the CLI): every row checked, nothing written, not even a run."""
    actor.require(INVENTORY_IMPORT)
    checker = IMPORTERS[_kind(kind)](actor=actor, writing=False)
    total = estimate_rows(path, fmt)
    return import_pass(checker, path, fmt, on_error=on_error,
                       on_progress=(lambda done: on_progress("checking", done, total)) if on_progress else None)


def import_file_apply(*, actor: Actor, kind: str, path: Path, fmt: str, on_error: ErrorCallback | None = None,
                      on_progress: ProgressCallback | None = None) -> ImportRun:
    """Check and apply a local file now (the CLI), recorded as a run; the file is read in place."""
    actor.require(INVENTORY_IMPORT)
    run = ImportRun.objects.create(organization=actor.organization, kind=_kind(kind), format=fmt,
                                   filename=path.name[:255], size_bytes=path.stat().st_size, dry_run=False,
                                   created_by=actor.user)
    try:
        return _execute(run, actor=actor, path=path, on_error=on_error, on_progress=on_progress)
    except BaseException as error:
        _fail(run, f"{type(error).__name__}: {error}")
        raise


INTERRUPTED_AFTER = timedelta(hours=24)


def imports_interrupted_close(*, now: datetime | None = None) -> int:
    """Mark failed the runs of `stocktrace import` processes that were killed outright (SIGKILL, power loss)
    while checking or applying: nothing could update their record, which still says validating or applying.
    Their transaction was rolled back, so nothing was applied. Runs started by a job are left to the job,
    which resumes them. A day is far longer than any import takes."""
    now = now or timezone.now()
    return ImportRun.objects.filter(task_id__isnull=True, status__in=[Status.VALIDATING, Status.APPLYING],
                                    started_at__lt=now - INTERRUPTED_AFTER).update(
        status=Status.FAILED, finished_at=now,
        message="Interrupted: the import command stopped before it finished (killed?); nothing was applied")


def import_files_prune(*, older_than_days: int | None = None) -> int:
    """Forget the files of checks that were never applied, after STOCKTRACE_IMPORT_KEEP_DAYS."""
    days = older_than_days if older_than_days is not None else int(
        getattr(settings, "STOCKTRACE_IMPORT_KEEP_DAYS", 7))
    cutoff = timezone.now() - timedelta(days=days)
    pruned = 0
    for run in ImportRun.objects.exclude(stored_name="").filter(created_at__lt=cutoff).exclude(
            status__in=[Status.UPLOADED, Status.VALIDATING, Status.APPLYING]).iterator():
        _discard_file(run)
        ImportRun.objects.filter(pk=run.pk).update(stored_name="")
        pruned += 1
    return pruned
