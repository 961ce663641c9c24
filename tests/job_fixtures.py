"""Jobs used by the job tests (importable by a worker subprocess too)."""

import time
from pathlib import Path

from stocktrace.jobs.registry import RetryPolicy, job


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
