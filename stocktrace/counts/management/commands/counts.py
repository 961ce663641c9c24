import sys
from collections.abc import Generator
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from stocktrace.core.errors import DomainError, NotFound
from stocktrace.core.spreadsheets import write_csv, write_xlsx
from stocktrace.counts import selectors
from stocktrace.counts.api import REPORT_COLUMNS
from stocktrace.counts.models import AreaStatus, CountResultLine, CountSession, SessionStatus
from stocktrace.counts.services import completion
from stocktrace.counts.services import sessions as session_services
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    group = "Operate"
    help = ("Counts from the command line: list, show, start, cancel, complete, and a completed count's report. "
            "Each acts in the organization given with --organization, as the system (an admin).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        def action(name: str, text: str, *, with_id: bool = True):
            command = sub.add_parser(name, help=text, description=text)
            if with_id:
                command.add_argument("id", type=int, help="the count's id (see `counts list`)")
            command.add_argument("--organization", required=True, help="the organization's slug")
            return command

        listing = action("list", "one line per count, newest first", with_id=False)
        listing.add_argument("--site", help="only this site's counts (its code)")
        listing.add_argument("--status", choices=SessionStatus.values)
        action("show", "a count's details, progress and areas")
        action("start", "start a planned count: snapshot what the ledger holds in its areas")
        action("cancel", "cancel a planned count or one in progress").add_argument(
            "--reason", required=True, help="why (kept with the count)")
        action("complete", "complete a count whose areas are all approved: post the corrections, freeze the report")
        report = action("report", "write a completed count's frozen report; OUTPUT '-' writes CSV to standard output")
        report.add_argument("output", metavar="OUTPUT")
        report.add_argument("--format", choices=["csv", "xlsx"], help="default: from OUTPUT's name")

    def handle(self, *args, action: str, organization: str, **options):
        org = Organization.objects.filter(slug=organization, is_active=True).first()
        if org is None:
            raise CommandError(f"No active organization {organization!r}")
        actor = Actor.system(org, device="cli")
        try:
            getattr(self, f"do_{action}")(actor, **options)
        except DomainError as error:
            raise CommandError(error.detail) from error

    def _session(self, actor: Actor, session_id: int) -> CountSession:
        try:
            return selectors.session_get(actor=actor, session_id=session_id)
        except NotFound as error:
            raise CommandError(f"No count {session_id} in organization {actor.organization.slug!r}") from error

    def do_list(self, actor: Actor, *, site: str | None, status: str | None, **options) -> None:
        site_id = None
        if site:
            found = Site.objects.for_org(actor.organization).filter(code=site).first()
            if found is None:
                raise CommandError(f"No site {site!r} in organization {actor.organization.slug!r}")
            site_id = found.pk
        sessions = (selectors.sessions_visible(actor=actor, site_id=site_id, status=status)
                    .annotate(area_count=Count("areas"),
                              approved=Count("areas", filter=Q(areas__status=AreaStatus.APPROVED)))
                    .order_by("-pk"))
        for session in sessions:  # a few hundred at most; read whole, so a closed pipe leaves no cursor open
            self.stdout.write(f"{session.pk:>6}  {session.site.code:<12} {session.name:<30} {session.kind:<5} "
                              f"{session.mode:<12} {session.status:<11} areas {session.approved}/"
                              f"{session.area_count} approved  started {_when(session.started_at)}")

    def do_show(self, actor: Actor, *, id: int, **options) -> None:
        session = self._session(actor, id)
        progress = selectors.session_progress(session)
        write = self.stdout.write
        write(f"Count {session.pk}: {session.name}")
        write(f"  site:       {session.site.code} ({session.site.name})")
        write(f"  kind:       {session.get_kind_display()}")
        write(f"  mode:       {session.get_mode_display()}")
        write(f"  status:     {session.status}")
        write(f"  created:    {_when(session.created_at)}")
        write(f"  started:    {_when(session.started_at)}")
        if session.ended_at:
            write(f"  ended:      {_when(session.ended_at)}")
        if session.cancel_reason:
            write(f"  cancelled:  {session.cancel_reason}")
        if session.notes:
            write(f"  notes:      {session.notes}")
        by_status = ", ".join(f"{status.replace('_', ' ')} {n}" for status, n in sorted(progress["by_status"].items()))
        write(f"Progress: {progress['areas']} areas{': ' + by_status if by_status else ''}")
        write(f"  scans: {progress['scans']} (last {_when(progress['last_scan_at'])}), "
              f"open exceptions: {progress['open_exceptions']}")
        areas = selectors.areas_of(actor=actor, session=session).order_by("barcode")
        write("Areas:" if progress["areas"] else "Areas: none yet")
        for area in areas:
            holder = area.holder.user.email if area.holder else "-"
            write(f"  {area.barcode:<16} {area.location.code:<20} {area.status:<18} round {area.round:<3} {holder}")

    def do_start(self, actor: Actor, *, id: int, **options) -> None:
        session = session_services.session_start(actor=actor, session=self._session(actor, id))
        areas, expected = session.areas.count(), session.expected.count()
        self.stdout.write(f"Count {session.pk} ({session.name}) started: {areas} area{'' if areas == 1 else 's'}, "
                          f"{expected} expected line{'' if expected == 1 else 's'} in the snapshot")

    def do_cancel(self, actor: Actor, *, id: int, reason: str, **options) -> None:
        session = session_services.session_cancel(actor=actor, session=self._session(actor, id), reason=reason)
        self.stdout.write(f"Count {session.pk} ({session.name}) cancelled: {session.cancel_reason}")

    def do_complete(self, actor: Actor, *, id: int, **options) -> None:
        session = completion.session_complete(actor=actor, session=self._session(actor, id))
        lines = list(CountResultLine.objects.filter(session=session).values_list("posted", "unit_cost"))
        corrected = sum(1 for posted, _ in lines if posted)
        value = sum((posted * cost for posted, cost in lines), Decimal(0)).quantize(Decimal("0.01"))
        plural = {"lines": "" if len(lines) == 1 else "s", "corrections": "" if corrected == 1 else "s"}
        self.stdout.write(f"Count {session.pk} ({session.name}) completed: {len(lines)} line{plural['lines']}, "
                          f"{corrected} correction{plural['corrections']} posted, value difference {value}")

    def do_report(self, actor: Actor, *, id: int, output: str, format: str | None, **options) -> None:
        session = self._session(actor, id)
        if output == "-":
            if format == "xlsx":
                raise CommandError("XLSX cannot go to standard output; name a file")
            fmt = "csv"
        else:
            suffix = Path(output).suffix.lower().lstrip(".")
            fmt = format or suffix
            if fmt not in ("csv", "xlsx"):
                raise CommandError(f"{output} must end in .csv or .xlsx, or give --format")
        rows = selectors.report_rows(session)  # refused before completion, before the file is opened
        try:
            if output == "-":
                write_csv(REPORT_COLUMNS, rows, sys.stdout)
                return
            path = Path(output)
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as handle:
                    count = write_csv(REPORT_COLUMNS, rows, handle)
            else:
                count = write_xlsx(REPORT_COLUMNS, rows, path, title=f"count-{session.pk}")
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                raise
            raise CommandError(f"Cannot write {output}: {error.strerror or error}") from error
        finally:
            if isinstance(rows, Generator):
                rows.close()  # left mid-way by a closed pipe: free its cursor now, not after the connection closed
        self.stderr.write(f"{count:,} report lines of count {session.pk} written to {path}")
