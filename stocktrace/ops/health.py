"""Readiness checks: each returns (ok, detail) and is timed by `readiness()`."""

import time
import uuid

from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

_migrations_known_applied = False


def check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def check_migrations() -> tuple[bool, str]:
    # Building the migration graph reads every migration file; once everything is applied it stays so
    # for the life of this process (a deploy restarts it), so remember the good answer.
    global _migrations_known_applied
    if _migrations_known_applied:
        return True, "applied"
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return False, f"{len(pending)} unapplied migration(s); run `stocktrace migrate`"
    _migrations_known_applied = True
    return True, "applied"


def check_cache() -> tuple[bool, str]:
    key, value = f"readyz:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, 10)
    ok = cache.get(key) == value
    cache.delete(key)
    return ok, "read back" if ok else "value not read back"


def check_workers() -> tuple[bool, str]:
    from stocktrace.jobs.selectors import worker_readiness

    return worker_readiness()


CHECKS = {"database": check_database, "migrations": check_migrations, "cache": check_cache,
          "workers": check_workers}


def readiness() -> tuple[bool, dict]:
    components = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            ok, detail = check()
        except Exception as exc:  # a readiness probe reports failures, it must not raise them
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        components[name] = {
            "status": "ok" if ok else "fail",
            "detail": detail,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    return all(c["status"] == "ok" for c in components.values()), components
