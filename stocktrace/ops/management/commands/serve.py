import os
import socket

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def port_free_check(host: str, port: int) -> None:
    """Refuse a port another process listens on: two servers on one port split the requests between them."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the server binds: a port a stopped server left in TIME_WAIT is free; one a server listens on is not
        # (granian listens with SO_REUSEPORT, so a second one would bind as well and take half the requests).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandError(f"Port {port} on {host} is in use ({error.strerror}): is stocktrace already "
                               "running there? Stop it, or choose another port with --port.") from error


class Command(BaseCommand):
    group = "Run"
    help = "Serve stocktrace with the granian WSGI server (static files by WhiteNoise)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("STOCKTRACE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                            help="processes (default 2, or WEB_CONCURRENCY)")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")),
                            help="blocking threads per process (default 4)")
        parser.add_argument("--no-migrate-check", action="store_true",
                            help="start even when migrations are pending")

    def handle(self, *args, host, port, workers, threads, no_migrate_check, **options):
        from granian.constants import Interfaces
        from granian.server import Server

        port_free_check(host, port)
        if not no_migrate_check:
            try:
                call_command("migrate", check=True, verbosity=0)
            except SystemExit as exit_:
                raise CommandError("Migrations are pending: run `stocktrace migrate` first") from exit_
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"stocktrace on http://{host}:{port}/ ({workers} workers × {threads} threads, "
                          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")
        Server(
            "config.wsgi:application",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=threads,
            websockets=False,
            respawn_failed_workers=True,
        ).serve()
