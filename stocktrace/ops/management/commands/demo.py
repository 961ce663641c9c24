import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand

from stocktrace.ops.demo import DEMO_PASSWORD, PEOPLE, demo_email, demo_load
from stocktrace.ops.management.commands.serve import port_free_check


class Command(BaseCommand):
    group = "Try it"
    help = ("Migrate, load the demo organization (once) and serve it with a job worker, printing the demo logins. "
            "Ctrl-C stops both.")

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="load the data and stop")
        parser.add_argument("--port", type=int, default=8000, help="default 8000")
        parser.add_argument("--items", type=int, default=10_000, help="how many demo items (default 10,000)")

    def handle(self, *args, no_serve, port, items, **options):
        if not no_serve:
            port_free_check("127.0.0.1", port)  # before loading anything
        call_command("migrate", interactive=False, verbosity=0)
        org, created = demo_load(items=items)
        self.stdout.write(f"Demo organization: {org.name} ({'created' if created else 'already there'})")
        self.stdout.write(f"Log in at http://127.0.0.1:{port}/ with password {DEMO_PASSWORD!r} as:")
        for login, role, name, sites in PEOPLE:
            where = ", ".join(sites) or ("every site" if role == "admin" else "no site yet")
            self.stdout.write(f"  {demo_email(login):36} {role:<11} {name:<15} {where}")
        if no_serve:
            return
        # Imports and the alert recheck started from the pages run as jobs: the demo brings its own worker
        # (with the scheduler), a process of its own that Ctrl-C reaches too, and that ends with the server.
        worker = subprocess.Popen([sys.executable, "-m", "stocktrace.cli", "worker"])
        try:
            call_command("serve", port=port)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
