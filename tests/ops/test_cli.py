"""The `stocktrace` command itself: its front page, Django's commands behind `stocktrace django`, and a quiet end
on a closed pipe or Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import urllib.request

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from stocktrace import cli
from stocktrace.inventory.models import Item
from stocktrace.tenancy.models import Organization
from tests.factories import make_world
from tests.processes import free_port, kill_group, skip_without_database_file, stocktrace, wait_until

OURS = ["demo", "serve", "worker", "migrate", "createadmin", "preflight", "import", "export", "jobs", "counts"]


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


def test_serve_refuses_a_port_in_use(db):
    """Two servers on one port split the requests between them, each saying it listens there."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("serve", "demo"):
            with pytest.raises(CommandError, match=f"Port {port} on 127.0.0.1 is in use"):
                call_command(command, port=port)
    assert not Organization.objects.filter(slug="demo").exists(), "the demo refused before loading anything"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_demo_serves_with_a_worker_and_ctrl_c_stops_both():
    skip_without_database_file()
    port = free_port()
    demo = stocktrace("demo", "--port", str(port), "--items", "20", start_new_session=True)
    try:
        def worker_alive():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                    return json.load(answer)["components"]["workers"]["detail"] == "1 worker(s) alive"
            except OSError:
                return demo.poll() is not None  # ended: the assertion below says so

        wait_until(worker_alive, timeout=120)
        assert demo.poll() is None
        children = subprocess.run(["pgrep", "-P", str(demo.pid)], capture_output=True, text=True).stdout.split()
        assert children, "the worker runs as a process of the demo's"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) is not None
        for child in map(int, children):
            wait_until(lambda child=child: not _alive(child), timeout=30)
    finally:
        kill_group(demo)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
