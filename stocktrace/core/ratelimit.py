"""Fixed-window counters for rate limits, exact across processes.

With REDIS_URL set the counter lives in Redis (atomic INCR, shared by every machine). Without it, in a
small file per key under the data directory, updated under an exclusive file lock: exact across the
processes of one machine, with no extra service. A window's counter starts at its first hit.
"""

import fcntl
import functools
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    start = int(now // window_seconds) * window_seconds
    return start, start + window_seconds - int(now)


@functools.lru_cache(maxsize=4)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


def _redis_count(key: str, start: int, window_seconds: int) -> int:
    bucket = f"stocktrace:ratelimit:{key}:{start}"
    # One round trip: count, and let the window's counter expire after it (set once, by the first hit).
    pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
    pipe.incr(bucket)
    pipe.expire(bucket, window_seconds + 5, nx=True)
    count, _ = pipe.execute()
    return count


@functools.lru_cache(maxsize=4096)  # keys can be per e-mail address: bounded
def _counter_path(data_dir: str, key: str) -> str:
    folder = Path(data_dir) / "ratelimit"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / hashlib.sha256(key.encode()).hexdigest()[:32])


def _file_count(key: str, start: int) -> int:
    try:
        fd = os.open(_counter_path(str(settings.DATA_DIR), key), os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:  # the folder was removed since it was made: make it again
        _counter_path.cache_clear()
        fd = os.open(_counter_path(str(settings.DATA_DIR), key), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.pread(fd, 64, 0).decode() or "0 0"
        stored_start, count = (int(part) for part in raw.split())
        count = count + 1 if stored_start == start else 1
        record = f"{start} {count}".ljust(40).encode()
        os.pwrite(fd, record, 0)
        return count
    finally:
        os.close(fd)  # closing releases the lock


def hit(key: str, *, limit: int, window_seconds: int = 60, now: float | None = None) -> Verdict:
    """Count one event for `key`; allowed while the window's count stays within `limit`."""
    now = time.time() if now is None else now
    start, retry_after = _window(window_seconds, now)
    count = _redis_count(key, start, window_seconds) if settings.REDIS_URL else _file_count(key, start)
    return Verdict(allowed=count <= limit, count=count, retry_after=max(1, retry_after))
