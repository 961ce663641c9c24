"""Shared plumbing of the benchmarks: a scratch PostgreSQL database, Django set up in-process, machine facts.

Not a benchmark itself. Each benchmark owns its own database name (`bench_db`) so two can run at once. The
names start with `st_bench_` (or $STOCKTRACE_BENCH_DB_PREFIX): never `test_*` (the test runner's) nor another
engineer's, because each benchmark drops its database WITH (FORCE) before and after the run.
"""

import atexit
import datetime
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN = f"{SERVER}/postgres"
DB_PREFIX = os.environ.get("STOCKTRACE_BENCH_DB_PREFIX", "st_bench")


def bench_db(name: str) -> str:
    """The scratch database of one benchmark: `st_bench_<name>` unless STOCKTRACE_BENCH_DB_PREFIX says otherwise."""
    if not DB_PREFIX.replace("_", "").isalnum() or DB_PREFIX.startswith("test"):
        raise SystemExit(f"STOCKTRACE_BENCH_DB_PREFIX={DB_PREFIX!r}: letters, digits and _ only, not test*")
    return f"{DB_PREFIX}_{name}"


def db_url(name: str) -> str:
    return f"{SERVER}/{name}"


def create_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return db_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def server_version() -> str:
    with psycopg.connect(PG_ADMIN) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def _data_dir() -> str:
    """A throw-away data directory (collectstatic writes there; nothing is written under the project), made
    once by the benchmark's main process and removed when it exits; its child processes inherit it."""
    inherited = os.environ.get("STOCKTRACE_BENCH_DATA_DIR")
    if inherited:
        return inherited
    path = tempfile.mkdtemp(prefix="stocktrace-bench-data-")
    os.environ["STOCKTRACE_BENCH_DATA_DIR"] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def django_env(database: str) -> dict:
    """The environment stocktrace runs with here: this database, production settings, quiet logs."""
    data_dir = _data_dir()
    return {**os.environ, "DATABASE_URL": db_url(database), "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench-only-" + "x" * 50, "STOCKTRACE_DATA_DIR": data_dir}


def setup_django(database: str, migrate: bool = False) -> None:
    os.environ.update(django_env(database))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def machine() -> str:
    return (f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
            f"PostgreSQL {server_version()} on 127.0.0.1, Python {platform.python_version()}, "
            f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
            f"load average (1 min) {os.getloadavg()[0]:.2f}")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def start_raw_server(port: int, database_url: str, *, workers: int = 2, threads: int = 4):
    """The bare WSGI floor (bench/_raw_wsgi.py) under granian with stocktrace's server settings; a Popen."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--blocking-threads", str(threads), "--no-ws", "--log-level", "warning",
         "_raw_wsgi:app"],
        cwd=Path(__file__).resolve().parent, env={**os.environ, "RAW_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
