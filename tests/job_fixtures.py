"""Jobs used by the job tests (importable by a worker subprocess too), and the helpers that run them in-process
(`run_worker`) and move the clock (`Clock`)."""

import time
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from stocktrace.jobs.registry import RetryPolicy, job
from stocktrace.jobs.worker import StocktraceWorker


class Clock:
    """A controllable `timezone.now` for backoff and lease tests."""

    def __init__(self, monkeypatch, start: datetime):
        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta):
        self.now += timedelta(**delta)


def run_worker(max_tasks: int | None = None, **kwargs) -> StocktraceWorker:
    """Run the due jobs in this process (batch mode), as `stocktrace worker --batch` would."""
    worker = StocktraceWorker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                              max_tasks=max_tasks, worker_id=kwargs.pop("worker_id", "test-worker"),
                              excluded_queue_names=[], heartbeat_seconds=60, lease_seconds=60, schedule=False,
                              **kwargs)
    worker.run()
    return worker


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


@job(retry=RetryPolicy(max_attempts=3, base_delay=10, jitter=0, retry_on=(Flaky,), give_up_on=(Fatal,)))
def fail_until(path: str, succeed_on_attempt: int, organization_id: int | None = None) -> int:
    """Fails with Flaky until its attempt count (kept in a file) reaches `succeed_on_attempt`."""
    counter = Path(path)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt < succeed_on_attempt:
        raise Flaky(f"attempt {attempt}")
    return attempt


@job(retry=RetryPolicy(max_attempts=3, base_delay=10, jitter=0, give_up_on=(Fatal,)))
def fatal(organization_id: int | None = None) -> None:
    raise Fatal("cannot ever work")


@job(retry=RetryPolicy(max_attempts=3, base_delay=0.01, jitter=0))
def slow_first_time(directory: str) -> str:
    """The first run marks itself started and hangs (to be killed); a later run records one 'done'."""
    folder = Path(directory)
    started = folder / "started"
    if not started.exists():
        started.write_text("1")
        time.sleep(120)
    with (folder / "done").open("a") as out:
        out.write("done\n")
    return "done"


@job(retry=RetryPolicy(max_attempts=2, base_delay=0.01, jitter=0))
def hang(directory: str) -> None:
    """Marks each attempt as started (`attempt-1`, `attempt-2`, …) and hangs, to be stopped from outside."""
    folder = Path(directory)
    attempt = len(list(folder.glob("attempt-*"))) + 1
    (folder / f"attempt-{attempt}").write_text("")
    time.sleep(120)
