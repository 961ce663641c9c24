import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string

from stocktrace.jobs.worker import DEFAULT_HEARTBEAT_SECONDS, DEFAULT_LEASE_SECONDS, StocktraceWorker, lease_problem

RESTART_FIRST_WAIT = 1.0
RESTART_MAX_WAIT = 60.0


class Command(BaseCommand):
    group = "Run"
    help = "Run background job workers (any number, on any number of machines sharing the database)."
    # Workers start often (one per process, restarts); the checks import every URL and API module for nothing.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=1, help="worker processes to run (default 1)")
        parser.add_argument("--queues", default="*", help="comma-separated queue names, or * for all (default)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds to wait when idle (default 1)")
        parser.add_argument("--heartbeat", type=float, default=DEFAULT_HEARTBEAT_SECONDS,
                            help="seconds between heartbeats (default 5)")
        parser.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS,
                            help="seconds without a heartbeat after which a worker's jobs are retried elsewhere "
                                 "(default 60, at least 3 heartbeats; the same on every worker)")
        parser.add_argument("--no-scheduler", action="store_true", help="do not enqueue periodic jobs")
        parser.add_argument("--batch", action="store_true", help="run what is due, then exit")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, processes, queues, interval, heartbeat, lease, no_scheduler, batch, max_tasks,
               worker_id, **options):
        problem = lease_problem(lease_seconds=lease, heartbeat_seconds=heartbeat)
        if problem:
            raise CommandError(problem)
        if processes > 1:
            child = ["--queues", queues, "--interval", str(interval), "--heartbeat", str(heartbeat),
                     "--lease", str(lease)]
            child += ["--no-scheduler"] * no_scheduler + ["--batch"] * batch
            child += ["--max-tasks", str(max_tasks)] if max_tasks else []
            return self._supervise(processes, child, restart=not batch)
        worker = StocktraceWorker(
            queue_names=queues.split(","), interval=interval, batch=batch, backend_name="default",
            startup_delay=not batch, max_tasks=max_tasks, worker_id=worker_id or get_random_string(32),
            excluded_queue_names=[], heartbeat_seconds=heartbeat, lease_seconds=lease, schedule=not no_scheduler,
        )
        worker.configure_signals()
        self.stdout.write(f"worker {worker.worker_id} on queues {queues}")
        worker.run()

    def _supervise(self, processes: int, child_args: list[str], *, restart: bool) -> None:
        """Run N single-process workers, pass stop signals on to them, and (unless --batch) start again one that
        died (the database restarted, it ran out of memory): with 1 s between tries, doubling up to a minute
        while it keeps dying within a minute of its start."""
        # Own sessions: a terminal's Ctrl+C or systemd's stop reaches the children once, through us only
        # (a second signal would make them abandon the job they are running).
        def start() -> tuple[subprocess.Popen, float]:
            child = subprocess.Popen([sys.executable, "-m", "stocktrace.cli", "worker", *child_args],
                                     start_new_session=True)
            return child, time.monotonic()

        children = [start() for _ in range(processes)]
        waits = [RESTART_FIRST_WAIT] * processes
        restart_at: list[float | None] = [None] * processes
        stopping = False

        def forward(signum, frame):
            nonlocal stopping
            stopping = True
            for child, _ in children:
                if child.poll() is None:
                    child.send_signal(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)
        worst = 0
        while True:
            now = time.monotonic()
            for slot, (child, started_at) in enumerate(children):
                code = child.poll()
                if code is None:
                    continue
                if not code or not restart or stopping:
                    worst = max(worst, abs(code))
                    continue
                due_at = restart_at[slot]
                if due_at is None:
                    if now - started_at > RESTART_MAX_WAIT:
                        waits[slot] = RESTART_FIRST_WAIT
                    restart_at[slot] = now + waits[slot]
                    self.stderr.write(f"worker process {child.pid} exited with {code}; starting another in "
                                      f"{waits[slot]:.0f} s")
                elif now >= due_at:
                    children[slot], restart_at[slot] = start(), None
                    waits[slot] = min(RESTART_MAX_WAIT, waits[slot] * 2)
            if all(child.poll() is not None and (not child.returncode or not restart or stopping)
                   for child, _ in children):
                break
            time.sleep(0.2)
        if worst:
            sys.exit(worst)
