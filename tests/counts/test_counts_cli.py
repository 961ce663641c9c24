"""`stocktrace counts`: an operator lists, shows, starts, cancels and completes counts and writes their reports
without the web, acting in one organization as the system."""

import io
import subprocess
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from stocktrace.audit.models import AuditEvent
from stocktrace.core.spreadsheets import CONTENT_TYPES
from stocktrace.counts.api import REPORT_COLUMNS
from stocktrace.counts.models import CountResultLine, CountSession
from stocktrace.counts.services import areas as area_services
from stocktrace.counts.services import scans as scan_services
from stocktrace.counts.services import sessions as session_services
from stocktrace.inventory.models import OnHand, StockMovement
from stocktrace.tenancy.roles import Role
from tests.conftest import api
from tests.counts.cases import completed, planned, running
from tests.factories import make_world, stocked
from tests.processes import skip_without_database_file, stocktrace


def counts(*argv: str, organization: str = "alpha") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("counts", *argv, f"--organization={organization}", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _planned_with_the_stocked_bin(tenant) -> CountSession:
    session = planned(tenant)
    session_services.areas_add(actor=tenant.actor(), session=session, locations=[stocked(tenant)[1]])
    return session


def _counted_and_approved(tenant, quantity: str) -> CountSession:
    """The running count, its one area (the stocked bin, 10 expected) counted as `quantity` and approved."""
    session = running(tenant)
    item, _ = stocked(tenant)
    area = session.areas.get()
    area = area_services.area_assign(actor=tenant.actor(), area=area, holder=tenant.members[Role.COUNTER])
    scan_services.scan_record(actor=tenant.actor(Role.COUNTER), area=area, scan_uuid=uuid.uuid4(), code=item.sku,
                              quantity=quantity)
    area = area_services.area_submit(actor=tenant.actor(Role.COUNTER), area=area)
    area_services.area_approve(actor=tenant.actor(), area=area)
    return session


def test_list_shows_one_line_per_count_of_the_organization_only(world):
    first = planned(world.alpha)
    second = running(world.alpha)
    running(world.bravo)
    out, _ = counts("list")
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == str(second.pk) and lines[1].split()[0] == str(first.pk)  # newest first
    assert "ALPHA-1" in lines[0] and second.name in lines[0] and "cycle" in lines[0] and "blind" in lines[0]
    assert "in_progress" in lines[0] and "areas 0/1 approved" in lines[0] and "started 20" in lines[0]
    assert "planned" in lines[1] and "areas 0/0 approved" in lines[1] and "started -" in lines[1]
    assert "bravo" not in out.lower()

    out, _ = counts("list", "--status", "planned")
    assert [line.split()[0] for line in out.splitlines()] == [str(first.pk)]
    out, _ = counts("list", "--site", "ALPHA-2")
    assert out == ""
    out, _ = counts("list", "--site", "ALPHA-1")
    assert len(out.splitlines()) == 2
    with pytest.raises(CommandError, match="No site 'BRAVO-1' in organization 'alpha'"):
        counts("list", "--site", "BRAVO-1")


def test_show_gives_the_details_the_progress_and_the_areas(world):
    session = running(world.alpha)
    area = session.areas.get()
    area_services.area_assign(actor=world.alpha.actor(), area=area, holder=world.alpha.members[Role.COUNTER])
    out, _ = counts("show", str(session.pk))
    assert out.startswith(f"Count {session.pk}: {session.name}\n")
    assert "site:       ALPHA-1 (alpha site 1)" in out
    assert "kind:       Cycle count" in out and "mode:       Blind" in out and "status:     in_progress" in out
    assert "Progress: 1 areas: assigned 1" in out
    assert "scans: 0 (last -), open exceptions: 0" in out
    row = out.split("Areas:\n")[1].splitlines()[0].split()
    assert row == [area.barcode, "A-01", "assigned", "round", "1", "counter@alpha.test"]

    out, _ = counts("show", str(planned(world.alpha).pk))
    assert "Progress: 0 areas\n" in out and "Areas: none yet" in out


def test_start_takes_the_snapshot_and_a_refusal_changes_nothing(world):
    session = _planned_with_the_stocked_bin(world.alpha)
    out, _ = counts("start", str(session.pk))
    assert out == f"Count {session.pk} ({session.name}) started: 1 area, 1 expected line in the snapshot\n"
    session.refresh_from_db()
    assert session.status == "in_progress" and session.expected.get().quantity == Decimal("10.000")

    empty = planned(world.alpha)
    with pytest.raises(CommandError, match="^Add the areas to count first$"):
        counts("start", str(empty.pk))
    with pytest.raises(CommandError, match="only a planned count starts"):
        counts("start", str(session.pk))
    empty.refresh_from_db()
    assert empty.status == "planned" and empty.started_at is None


def test_cancel_needs_a_reason_and_closes_the_areas(world):
    session = running(world.alpha)
    out, _ = counts("cancel", str(session.pk), "--reason", "Wrong day")
    assert out == f"Count {session.pk} ({session.name}) cancelled: Wrong day\n"
    session.refresh_from_db()
    assert session.status == "cancelled" and session.cancel_reason == "Wrong day"
    assert not session.areas.filter(is_open=True).exists()
    with pytest.raises(CommandError):  # argparse: --reason is required
        counts("cancel", str(session.pk))


def test_complete_posts_the_corrections_so_on_hand_equals_counted(world):
    session = _counted_and_approved(world.alpha, "7")
    item, location = stocked(world.alpha)
    out, _ = counts("complete", str(session.pk))
    assert out == (f"Count {session.pk} ({session.name}) completed: 1 line, 1 correction posted, "
                   "value difference -7.50\n")
    session.refresh_from_db()
    assert session.status == "completed"
    assert OnHand.objects.get(item=item, location=location).quantity == Decimal("7.000")
    line = CountResultLine.objects.get(session=session)
    assert (line.expected, line.counted, line.posted) == (Decimal("10.000"), Decimal("7.000"), Decimal("-3.000"))
    audit = AuditEvent.objects.get(action="count.complete", object_id=str(session.pk))
    assert (audit.actor_id, audit.actor_email, audit.device) == (None, "cli", "cli")


def test_completing_a_count_with_unapproved_areas_is_refused_and_changes_nothing(world):
    session = running(world.alpha)
    item, location = stocked(world.alpha)
    movements = StockMovement.objects.count()
    area = session.areas.get()
    with pytest.raises(CommandError, match=f"^1 area is not approved yet: {area.barcode} \\(available\\)$"):
        counts("complete", str(session.pk))
    session.refresh_from_db()
    assert session.status == "in_progress" and not CountResultLine.objects.exists()
    assert StockMovement.objects.count() == movements
    assert OnHand.objects.get(item=item, location=location).quantity == Decimal("10.000")


def test_report_as_csv_to_a_file_and_to_standard_output(world, tmp_path, capsys):
    session = completed(world.alpha)
    path = tmp_path / "count.csv"
    _, err = counts("report", str(session.pk), str(path))
    assert err == f"1 report lines of count {session.pk} written to {path}\n"
    header, line = path.read_text(encoding="utf-8").splitlines()
    assert header == ",".join(REPORT_COLUMNS)
    area = session.areas.get()
    assert line.startswith(f"{area.barcode},A-01,ALPHA-SKU-1,alpha widget,,10.000,10.000,0.000,,0.000,2.5000,0.00,"
                           "counter@alpha.test,admin@alpha.test,")

    counts("report", str(session.pk), "-")
    assert capsys.readouterr().out == path.read_text(encoding="utf-8")


def test_report_as_xlsx(world, tmp_path):
    from openpyxl import load_workbook

    session = completed(world.alpha)
    path = tmp_path / "count.data"
    counts("report", str(session.pk), str(path), "--format", "xlsx")
    with path.open("rb") as handle:
        rows = list(load_workbook(handle, read_only=True).active.iter_rows(values_only=True))
    assert rows[0] == REPORT_COLUMNS and rows[1][2] == "ALPHA-SKU-1" and len(rows) == 2
    # The approval time, as local time (a spreadsheet's has no zone; openpyxl refused an aware one before).
    approved_at = CountResultLine.objects.get(session=session).approved_at
    assert abs(rows[1][-1] - timezone.make_naive(approved_at)) < timedelta(seconds=1)


def test_the_xlsx_report_over_the_api_too(world, client_as):
    """The same writer answers GET /counts/{id}/report?format=xlsx, which failed on the approval time."""
    session = completed(world.alpha)
    answer = api(client_as(world.alpha, Role.SUPERVISOR), "GET", f"/counts/{session.pk}/report?format=xlsx")
    assert answer.status_code == 200 and answer["Content-Type"] == CONTENT_TYPES["xlsx"]


def test_report_refusals_leave_no_file(world, tmp_path):
    session = running(world.alpha)
    path = tmp_path / "count.csv"
    with pytest.raises(CommandError, match="is in progress: its report exists once it is completed"):
        counts("report", str(session.pk), str(path))
    assert not path.exists()
    done = completed(world.alpha)
    with pytest.raises(CommandError, match="XLSX cannot go to standard output"):
        counts("report", str(done.pk), "-", "--format", "xlsx")
    with pytest.raises(CommandError, match="must end in .csv or .xlsx, or give --format"):
        counts("report", str(done.pk), str(tmp_path / "count.txt"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("action", [["show"], ["start"], ["cancel", "--reason", "x"], ["complete"], ["report", "-"]])
def test_unknown_ids_other_organizations_counts_and_organizations_are_refused(world, action):
    bravo = running(world.bravo)
    name, *rest = action
    for count_id in (bravo.pk, 999_999):
        with pytest.raises(CommandError, match=f"^No count {count_id} in organization 'alpha'$"):
            counts(name, str(count_id), *rest)
    with pytest.raises(CommandError, match="^No active organization 'nope'$"):
        counts(name, str(bravo.pk), *rest, organization="nope")
    bravo.refresh_from_db()
    assert bravo.status == "in_progress"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_as_a_process_a_refusal_exits_1_and_a_closed_pipe_ends_quietly():
    skip_without_database_file()
    world = make_world()
    refused = stocktrace("counts", "complete", str(running(world.alpha).pk), "--organization", "alpha",
                         stderr=subprocess.PIPE)
    _, errors = refused.communicate(timeout=60)
    assert refused.returncode == 1 and errors.decode().startswith("CommandError: 1 area is not approved yet: ")

    session = completed(world.alpha)
    line = CountResultLine.objects.get(session=session)
    CountResultLine.objects.bulk_create(
        CountResultLine(organization=line.organization, session=session, area_barcode=line.area_barcode,
                        location_code=line.location_code, sku=f"PIPE-{n:05}", item_name="x" * 150, expected=0,
                        counted=0, posted=0, unit_cost=0) for n in range(3000))  # far more than a pipe holds
    report = stocktrace("counts", "report", str(session.pk), "-", "--organization", "alpha",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert report.stdout.readline().startswith(b"area,location,sku,")
    report.stdout.close()  # as `head -1` does
    _, errors = report.communicate(timeout=60)
    assert report.returncode == 141, errors.decode()
    assert b"Traceback" not in errors and b"Exception ignored" not in errors, errors.decode()
