"""The `stocktrace` command itself: its front page, Django's commands behind `stocktrace django`, and a quiet end
on a closed pipe or Ctrl-C."""

import subprocess

import pytest

from stocktrace import cli
from stocktrace.inventory.models import Item
from tests.factories import make_world
from tests.processes import skip_without_database_file, stocktrace

OURS = ["demo", "serve", "worker", "migrate", "createadmin", "preflight", "import", "export", "jobs"]


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"], ["help"]])
def test_the_front_page_lists_stocktraces_commands_by_purpose_and_not_djangos(capsys, argv):
    cli.main(argv)
    page = capsys.readouterr().out
    for group in cli.GROUPS:
        assert f"\n{group}:\n" in page
    listed = [line.split()[0] for line in page.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(OURS)
    assert "Try it:\n  demo " in page and "stocktrace django help" in page
    for internal in ("startproject", "squashmigrations", "axes_reset", "createsuperuser", "db_worker"):
        assert internal not in page


def test_djangos_commands_stay_reachable_behind_django(capsys):
    cli.main(["django", "help"])
    listing = capsys.readouterr().out
    assert "startproject" in listing and "squashmigrations" in listing
    cli.main(["help", "createadmin"])
    assert "--organization" in capsys.readouterr().out  # a command's own help is Django's, as before


def test_ctrl_c_ends_a_command_with_130_and_no_traceback(monkeypatch, capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupted)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["export", "items", "-"])
    assert exit_.value.code == 130
    assert capsys.readouterr().err == "\nInterrupted.\n"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_export_into_a_closed_pipe_ends_quietly():
    """`stocktrace export items - | head -1`: a BrokenPipeError traceback and "Cannot operate on a closed
    database" from the export's half-read cursor, before."""
    skip_without_database_file()
    world = make_world()
    organization = world.alpha.organization
    Item.objects.bulk_create(Item(organization=organization, sku=f"PIPE-{n:05}", name="x" * 150)
                             for n in range(3000))  # some 500 KB: far more than a pipe holds
    export = stocktrace("export", "items", "-", "--organization", organization.slug,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert export.stdout.readline().startswith(b"sku,name,")
    export.stdout.close()  # as `head -1` does
    _, errors = export.communicate(timeout=60)
    assert export.returncode == 141, errors.decode()  # 128 + SIGPIPE, as other tools end
    assert b"Traceback" not in errors and b"Exception ignored" not in errors, errors.decode()
