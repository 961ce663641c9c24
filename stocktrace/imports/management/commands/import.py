import signal
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stocktrace.core.errors import DomainError
from stocktrace.imports.kinds import IMPORTERS
from stocktrace.imports.models import ImportRun
from stocktrace.imports.progress import Progress
from stocktrace.imports.services import format_for, import_check, import_file_apply, import_run_summary
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization


class Interrupted(Exception):
    pass


@contextmanager
def stops_raise():
    """SIGTERM (a service stop) and SIGHUP (a closed terminal or SSH session) end the import as Ctrl-C does:
    through the exception handlers, so its run is marked failed instead of saying 'applying' for ever."""
    def stop(signum, frame):
        raise Interrupted(f"stopped by {signal.Signals(signum).name}; nothing was applied")

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Command(BaseCommand):
    group = "Data"
    help = ("Check an import file of items, locations or opening stock and print every bad row; with --apply, "
            "apply it all-or-nothing. Exits non-zero when a row is bad.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(IMPORTERS))
        parser.add_argument("file", help="a CSV (UTF-8, header row) or XLSX (first sheet, header row) file")
        parser.add_argument("--organization", required=True, help="the organization's slug")
        parser.add_argument("--apply", action="store_true", help="apply the file (default: only check it)")
        parser.add_argument("--format", choices=ImportRun.Format.values, help="default: from the file name")

    def handle(self, *args, kind, file, organization, apply, format, **options):
        org = Organization.objects.filter(slug=organization, is_active=True).first()
        if org is None:
            raise CommandError(f"No active organization {organization!r}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}")
        progress = Progress(self.stderr)
        errors = 0

        def on_error(error) -> None:
            nonlocal errors
            errors += 1
            if progress.shown:
                progress.end()
                progress.shown = False
            self.stdout.write(str(error))

        try:
            fmt = format_for(path.name, format)
            actor = Actor.system(org, device="cli")
            if apply:
                with stops_raise():
                    run = import_file_apply(actor=actor, kind=kind, path=path, fmt=fmt, on_error=on_error,
                                            on_progress=progress)
                progress.end()
                self.stdout.write(import_run_summary(run))
                if run.status != ImportRun.Status.APPLIED:
                    raise CommandError(f"{run.rows_bad:,} bad row(s); nothing was applied")
                return
            outcome = import_check(actor=actor, kind=kind, path=path, fmt=fmt, on_error=on_error,
                                   on_progress=progress)
        except DomainError as error:
            raise CommandError(error.detail) from error
        progress.end()
        if not outcome.clean:
            self.stdout.write(f"Checked {outcome.rows_total:,} rows: {outcome.rows_bad:,} bad, "
                              f"{errors:,} error(s). Nothing was written.")
            raise CommandError(f"{outcome.rows_bad:,} bad row(s)" if outcome.rows_bad else "the file was refused")
        self.stdout.write(f"Checked {outcome.rows_total:,} rows: no errors. Nothing was written; "
                          "run again with --apply to apply the file.")
