"""The progress line of the import and export commands."""

import time
from collections.abc import Generator, Iterable


class Progress:
    """`\\r`-rewritten status line on stderr, at most a few times a second."""

    def __init__(self, stream):
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        share = f" ({min(100, done * 100 // total)}%)" if total else ""
        self.stream.write(f"\r{phase}: {done:,}{f' of ~{total:,}' if total else ''} rows{share}   ", ending="")
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            self.stream.write("")
            self.stream.flush()


def counted(rows: Iterable, progress: Progress, phase: str, every: int) -> Generator:
    """The rows, reporting how many went by every `every` of them."""
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % every == 0:
            progress(phase, done, 0)
