import signal
import subprocess
import sys

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string

from stocktrace.jobs.worker import StocktraceWorker


class Command(BaseCommand):
    help = "Run background job workers (any number, on any number of machines sharing the database)."
    # Workers start often (one per process, restarts); the checks import every URL and API module for nothing.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=1, help="worker processes to run (default 1)")
        parser.add_argument("--queues", default="*", help="comma-separated queue names, or * for all (default)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds to wait when idle (default 1)")
        parser.add_argument("--heartbeat", type=float, default=5.0, help="seconds between heartbeats (default 5)")
        parser.add_argument("--lease", type=float, default=60.0,
                            help="seconds without a heartbeat after which a worker's jobs are retried elsewhere")
        parser.add_argument("--no-scheduler", action="store_true", help="do not enqueue periodic jobs")
        parser.add_argument("--batch", action="store_true", help="run what is due, then exit")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, processes, queues, interval, heartbeat, lease, no_scheduler, batch, max_tasks,
               worker_id, **options):
        if processes > 1:
            child = ["--queues", queues, "--interval", str(interval), "--heartbeat", str(heartbeat),
                     "--lease", str(lease)]
            child += ["--no-scheduler"] * no_scheduler + ["--batch"] * batch
            child += ["--max-tasks", str(max_tasks)] if max_tasks else []
            return self._supervise(processes, child)
        worker = StocktraceWorker(
            queue_names=queues.split(","), interval=interval, batch=batch, backend_name="default",
            startup_delay=not batch, max_tasks=max_tasks, worker_id=worker_id or get_random_string(32),
            excluded_queue_names=[], heartbeat_seconds=heartbeat, lease_seconds=lease, schedule=not no_scheduler,
        )
        worker.configure_signals()
        self.stdout.write(f"worker {worker.worker_id} on queues {queues}")
        worker.run()

    def _supervise(self, processes: int, child_args: list[str]) -> None:
        """Run N single-process workers and pass stop signals on to them."""
        # Own sessions: a terminal's Ctrl+C or systemd's stop reaches the children once, through us only
        # (a second signal would make them abandon the job they are running).
        children = [subprocess.Popen([sys.executable, "-m", "stocktrace.cli", "worker", *child_args],
                                     start_new_session=True)
                    for _ in range(processes)]

        def forward(signum, frame):
            for child in children:
                child.send_signal(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)
        codes = [child.wait() for child in children]
        if any(codes):
            sys.exit(max(codes))
