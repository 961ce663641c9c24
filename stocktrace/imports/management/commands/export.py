import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stocktrace.core.errors import DomainError
from stocktrace.core.spreadsheets import write_csv, write_xlsx
from stocktrace.imports import engine
from stocktrace.imports.models import ImportRun
from stocktrace.imports.progress import Progress, counted
from stocktrace.imports.selectors import EXPORT_COLUMNS, export_rows
from stocktrace.imports.services import format_for
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization


class Command(BaseCommand):
    group = "Data"
    help = ("Export items, locations or stock on hand as CSV or XLSX, in the columns the import reads. "
            "FILE '-' writes CSV to standard output.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(EXPORT_COLUMNS))
        parser.add_argument("file")
        parser.add_argument("--organization", required=True, help="the organization's slug")
        parser.add_argument("--format", choices=ImportRun.Format.values, help="default: from the file name")

    def handle(self, *args, kind, file, organization, format, **options):
        org = Organization.objects.filter(slug=organization, is_active=True).first()
        if org is None:
            raise CommandError(f"No active organization {organization!r}")
        progress = Progress(self.stderr)
        rows = None
        try:
            columns, rows = export_rows(actor=Actor.system(org, device="cli"), kind=kind)
            rows = counted(rows, progress, "writing", engine.PROGRESS_EVERY)
            if file == "-":
                if format == "xlsx":
                    raise CommandError("XLSX cannot go to standard output; name a file")
                write_csv(columns, rows, sys.stdout)
                return
            path = Path(file)
            fmt = format_for(path.name, format)
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as handle:
                    count = write_csv(columns, rows, handle)
            else:
                count = write_xlsx(columns, rows, path, title=kind)
        except DomainError as error:
            raise CommandError(error.detail) from error
        finally:
            if rows is not None:  # left mid-way by a closed pipe: free its cursor now, not after Django has
                rows.close()      # closed the connection (a "Cannot operate on a closed database" at exit)
            progress.end()
        self.stderr.write(f"{count:,} {kind} rows written to {path}")
