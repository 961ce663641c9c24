"""Password hashing with a bounded memory cost (ADR 0012).

Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane) instead of Django's default (100 MiB, 8 lanes),
and every hash run on a small per-process pool of `STOCKTRACE_PASSWORD_HASH_CONCURRENCY` threads, so a burst of
sign-ins queues instead of allocating 19 MiB per request thread at once.

Why a pool of threads and not a semaphore around the caller's thread: glibc gives each thread its own malloc
arena, and a freed 19 MiB block stays in that arena. With a semaphore, every request thread that ever hashed
keeps its 19 MiB (measured: 8 threads behind a semaphore of 2 grew the process by ~150 MiB); with the pool, only
the pool's threads ever allocate Argon2's memory, so the process keeps at most N × 19 MiB.
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

from stocktrace.core.errors import RateLimited

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] | None = None  # (pid, size): a forked child or a changed setting gets a new pool


def _hashing_pool() -> ThreadPoolExecutor:
    global _pool, _pool_key
    size = max(1, int(settings.STOCKTRACE_PASSWORD_HASH_CONCURRENCY))
    key = (os.getpid(), size)
    with _lock:
        if _pool is None or _pool_key != key:
            old = _pool if _pool_key is not None and _pool_key[0] == key[0] else None
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="password-hash")
            _pool_key = key
            if old is not None:
                old.shutdown(wait=False)  # hashes it already runs finish; their callers still get them
        return _pool


def run_hash(function: Callable[..., T], *args: object) -> T:
    """Run one password hash on the pool and wait for it. A caller that waits longer than
    `STOCKTRACE_PASSWORD_HASH_WAIT_SECONDS` for a free slot gets RateLimited (429), which is not a failed
    login: it neither counts towards the lockout nor says anything about the password."""
    future: Future[T] = _hashing_pool().submit(function, *args)
    try:
        return future.result(timeout=settings.STOCKTRACE_PASSWORD_HASH_WAIT_SECONDS)
    except FutureTimeout:
        if future.cancel():
            raise RateLimited("The server is busy checking passwords; try again in a few seconds.",
                              retry_after=5) from None
        return future.result()  # it started meanwhile: it ends within one hash's time


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's first recommended setting: m=19456 KiB, t=2, p=1.

    The algorithm name stays "argon2", so hashes made with Django's defaults (m=102400, t=2, p=8) verify with
    the parameters stored in them, and Django's `must_update` (which compares those parameters with ours) makes
    `check_password` store a new hash at the next successful sign-in."""

    time_cost = 2
    memory_cost = 19456  # KiB = 19 MiB
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        return run_hash(super().encode, password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        return run_hash(super().verify, password, encoded)
