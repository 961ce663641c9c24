"""Jobs throughput on PostgreSQL: `stocktrace worker` against a raw psycopg job worker, in the same run.

    .venv/bin/python bench/jobs_throughput.py [--jobs 5000] [--workers 2] [--runs 3]
    .venv/bin/python bench/jobs_throughput.py --profile [--jobs 3000]   # where one stocktrace worker spends its time

Options: --lean adds a third side, bench/jobs_lean_worker.py (an EXPERIMENT: the cuts --profile points at, not
application code); --pycache lets the worker processes use a bytecode cache under /tmp (this environment sets
PYTHONDONTWRITEBYTECODE=1 and the venv has no .pyc, so every process start compiles its modules);
--raw-unprepared runs the raw workers without psycopg's prepared statements, as Django runs its queries.
--profile runs one StocktraceWorker in-process three times: phase timers (own time per job), database round trips
per job with a sample of each statement, and cProfile (/tmp/stocktrace-bench-jobs.prof).

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth):

1. Drops and creates the database `stocktrace_bench` (psycopg on the `postgres` database) and migrates it
   with `stocktrace migrate`.
2. stocktrace side, per run: empties the job table, enqueues N `stocktrace.jobs.tasks.noop(n=i)` jobs through
   the ORM in one transaction, then starts W processes of
   `stocktrace worker --batch --no-scheduler --interval 0 --queues default` and waits until every job is
   SUCCESSFUL (or every worker has exited).
3. raw side, per run: the same shape of work on a plain table `raw_jobs` (a partial index on the READY rows,
   like django-tasks-db's), N rows, and W processes each looping with psycopg:
       BEGIN; SELECT id, args ... WHERE status='READY' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED;
              UPDATE ... SET status='RUNNING', started_at=now(); COMMIT       -- the claim, committed first
       run a trivial python function
       UPDATE ... SET status='SUCCESSFUL', finished_at=now(), result=...        -- the result (autocommit)
   i.e. a minimal correct job worker.
4. The sides alternate (st, raw, st, raw, ...) `--runs` times each; the table shows the medians.

Timing: `wall` runs from just before the worker processes are spawned to the last job's `finished_at`
(both clocks are this machine's), so it includes process start-up (Django's set-up for stocktrace, a bare
`import psycopg` for raw). `window` is first `started_at` to last `finished_at`: the steady-state rate, start-up
excluded. The goal is stocktrace >= 50% of raw on the `wall` rate (results: docs/performance.md). The table
also shows the worker processes' CPU per job (start-up taken out) and the start-up cost itself.

"Exactly once" is checked from the rows: every row SUCCESSFUL with the return value of its own argument, and
claimed once (django-tasks-db appends the worker id on each claim: `worker_ids` has one entry; raw: the
workers' own counts of jobs run add up to N).

Not part of the test suite. Drops `stocktrace_bench` at the end (`--keep` keeps it).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "stocktrace_bench"
DB_URL = f"{SERVER}/{DB_NAME}"
BIN = Path(sys.executable).parent
TASKS_TABLE = "django_tasks_database_dbtaskresult"
RUN_TIMEOUT = 300.0
PYCACHE_DIR = "/tmp/stocktrace-bench-pycache"
STOCKTRACE_WORKER = [str(BIN / "stocktrace"), "worker", "--batch", "--no-scheduler", "--interval", "0",
                     "--queues", "default"]
LEAN_WORKER = [sys.executable, str(Path(__file__).resolve().parent / "jobs_lean_worker.py")]
OPTIONS = {"pycache": False, "raw_prepare": True}


def child_env() -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DB_URL,
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        SECRET_KEY=env.get("SECRET_KEY", "bench-only-not-a-secret"),  # nothing written under var/
    )
    if OPTIONS["pycache"]:  # workers start from cached bytecode (outside the project) instead of compiling
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = PYCACHE_DIR
    return env


def raw_worker_cmd() -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--raw-worker", DB_URL]
    return cmd if OPTIONS["raw_prepare"] else [*cmd, "--raw-unprepared"]


# --------------------------------------------------------------------------------------------- database

def create_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def server_version() -> str:
    with psycopg.connect(f"{SERVER}/postgres") as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def migrate() -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "stocktrace"), "migrate", "--no-input"], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"stocktrace migrate failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - started


def create_raw_table(conn) -> None:
    conn.execute("""
        CREATE TABLE raw_jobs(id bigserial PRIMARY KEY, status text NOT NULL, args jsonb NOT NULL,
                              enqueued_at timestamptz NOT NULL, started_at timestamptz,
                              finished_at timestamptz, result jsonb)""")
    conn.execute("CREATE INDEX raw_jobs_ready ON raw_jobs (id) WHERE status = 'READY'")


def setup_django() -> None:
    os.environ.update(child_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# ------------------------------------------------------------------------------------------ raw worker

def raw_noop(organization_id=None, n=0):
    return n


def raw_worker(dsn: str, prepare: bool) -> None:
    """A minimal correct job worker: claim committed before running, result committed after. psycopg's
    default prepares a statement on its 5th execution; Django's backend never does (client-side binding)."""
    conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=5 if prepare else None)
    done = 0
    while True:
        with conn.transaction():
            row = conn.execute("SELECT id, args FROM raw_jobs WHERE status = 'READY' ORDER BY id LIMIT 1 "
                               "FOR UPDATE SKIP LOCKED").fetchone()
            if row is None:
                break
            job_id, args = row
            conn.execute("UPDATE raw_jobs SET status = 'RUNNING', started_at = now() WHERE id = %s", (job_id,))
        try:
            value = raw_noop(*args["args"], **args["kwargs"])
        except Exception as error:  # noqa: BLE001
            conn.execute("UPDATE raw_jobs SET status = 'FAILED', finished_at = now(), result = %s WHERE id = %s",
                         (Jsonb(repr(error)), job_id))
        else:
            conn.execute("UPDATE raw_jobs SET status = 'SUCCESSFUL', finished_at = now(), result = %s "
                         "WHERE id = %s", (Jsonb(value), job_id))
        done += 1
    conn.close()
    print(done)


# ------------------------------------------------------------------------------------------------ runs

def cpu_snapshot() -> tuple[float, float, float]:
    """(CPU seconds used by finished child processes, busy and total CPU seconds of the whole machine)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle + iowait
    return children.ru_utime + children.ru_stime, (sum(ticks) - idle) / hz, sum(ticks) / hz


def cpu_usage(before, after) -> dict:
    worker_cpu = after[0] - before[0]
    busy, total = after[1] - before[1], after[2] - before[2]
    return {"worker_cpu": worker_cpu, "machine_busy": busy / total if total else 0.0}


def wait_for(procs, conn, table: str, n: int) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        successful = conn.execute(f"SELECT count(*) FROM {table} WHERE status = 'SUCCESSFUL'").fetchone()[0]
        if successful >= n or all(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    for p in procs:
        try:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def timings(conn, table: str, spawned_at: float) -> tuple[float, float]:
    first, last = conn.execute(
        f"SELECT extract(epoch FROM min(started_at)), extract(epoch FROM max(finished_at)) FROM {table}").fetchone()
    return float(last) - spawned_at, float(last) - float(first)


def stocktrace_run(conn, n: int, workers: int, side: str = "stocktrace") -> dict:
    from django.db import close_old_connections, connection, transaction

    from stocktrace.jobs.tasks import noop

    conn.execute(f"TRUNCATE {TASKS_TABLE}")
    close_old_connections()
    started = time.perf_counter()
    with transaction.atomic():
        for i in range(n):
            noop.enqueue(n=i)
    enqueue_s = time.perf_counter() - started
    connection.close()
    conn.execute(f"VACUUM ANALYZE {TASKS_TABLE}")

    cmd = STOCKTRACE_WORKER if side == "stocktrace" else LEAN_WORKER
    cpu_before = cpu_snapshot()
    spawned_at = time.time()
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(workers)]
    wait_for(procs, conn, TASKS_TABLE, n)
    errors = [p.stderr.read().strip() for p in procs]
    cpu = cpu_usage(cpu_before, cpu_snapshot())
    wall, window = timings(conn, TASKS_TABLE, spawned_at)
    total, ok, once, right = conn.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE status = 'SUCCESSFUL'),
               count(*) FILTER (WHERE jsonb_array_length(worker_ids) = 1),
               count(*) FILTER (WHERE return_value = args_kwargs -> 'kwargs' -> 'n')
        FROM {TASKS_TABLE}""").fetchone()
    split = [c for (c,) in conn.execute(
        f"SELECT count(*) FROM {TASKS_TABLE} GROUP BY worker_ids ->> -1 ORDER BY 1 DESC").fetchall()]
    return {
        "side": side, "wall": wall, "window": window, "enqueue": enqueue_s,
        "exactly_once": total == ok == once == right == n, "successful": ok, "split": split,
        "exit_codes": [p.returncode for p in procs], "stderr": [e for e in errors if e], **cpu,
    }


def raw_run(conn, n: int, workers: int) -> dict:
    conn.execute("TRUNCATE raw_jobs RESTART IDENTITY")
    started = time.perf_counter()
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO raw_jobs (status, args, enqueued_at) VALUES ('READY', %s, now())",
                            [(Jsonb({"args": [], "kwargs": {"n": i}}),) for i in range(n)])
    enqueue_s = time.perf_counter() - started
    conn.execute("VACUUM ANALYZE raw_jobs")

    cmd = raw_worker_cmd()
    cpu_before = cpu_snapshot()
    spawned_at = time.time()
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(workers)]
    wait_for(procs, conn, "raw_jobs", n)
    outs = [p.communicate() for p in procs]
    cpu = cpu_usage(cpu_before, cpu_snapshot())
    split = sorted((int(out.strip() or 0) for out, _ in outs), reverse=True)
    wall, window = timings(conn, "raw_jobs", spawned_at)
    total, ok, right = conn.execute("""
        SELECT count(*), count(*) FILTER (WHERE status = 'SUCCESSFUL'),
               count(*) FILTER (WHERE result = args -> 'kwargs' -> 'n') FROM raw_jobs""").fetchone()
    return {
        "side": "raw", "wall": wall, "window": window, "enqueue": enqueue_s,
        "exactly_once": total == ok == right == sum(split) == n, "successful": ok, "split": split,
        "exit_codes": [p.returncode for p in procs], "stderr": [err.strip() for _, err in outs if err.strip()],
        **cpu,
    }


def startup_cost(conn, workers: int, lean: bool) -> dict:
    """Wall and CPU seconds of W workers that find an empty queue and exit: the fixed cost in `wall`."""
    conn.execute(f"TRUNCATE {TASKS_TABLE}")
    conn.execute("TRUNCATE raw_jobs")
    cost = {}
    for side, cmd, env in (
        ("stocktrace", STOCKTRACE_WORKER, child_env()),
        ("lean", LEAN_WORKER if lean else None, child_env()),
        ("raw", raw_worker_cmd(), child_env()),
    ):
        if cmd is None:
            continue
        before, started = cpu_snapshot(), time.perf_counter()
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
        for p in procs:
            p.wait()
        cost[side] = (time.perf_counter() - started, cpu_snapshot()[0] - before[0])
    return cost


# ----------------------------------------------------------------------------------------------- report

def report(results: list[dict], n: int, workers: int, runs: int, startup: dict, load: tuple) -> None:
    def side(name):
        return [r for r in results if r["side"] == name]

    def med(name, key):
        return statistics.median(n / r[key] for r in side(name))

    def cpu_us(name):  # worker CPU per job with the measured start-up CPU taken out
        return statistics.median((r["worker_cpu"] - startup[name][1]) * 1e6 / n for r in side(name))

    print()
    print("runs:")
    for r in results:
        print(f"  {r['side']:<10} wall {n / r['wall']:6.0f} jobs/s  window {n / r['window']:6.0f} jobs/s  "
              f"({r['wall']:5.2f} s; workers' CPU {r['worker_cpu']:5.2f} s; machine busy {r['machine_busy']:4.0%}; "
              f"enqueue {r['enqueue']:.2f} s; jobs per worker {r['split']}; "
              f"exactly once: {'yes' if r['exactly_once'] else 'NO'})")
    rows = [
        ("jobs/s, wall (median)", med("stocktrace", "wall"), med("raw", "wall"), True),
        ("jobs/s, steady-state window (median)", med("stocktrace", "window"), med("raw", "window"), False),
        ("jobs/s, wall (best run)", max(n / r["wall"] for r in side("stocktrace")),
         max(n / r["wall"] for r in side("raw")), False),
    ]
    st_ok, raw_ok = (all(r["exactly_once"] for r in side(name)) for name in ("stocktrace", "raw"))
    st_succ, raw_succ = (min(r["successful"] for r in side(name)) for name in ("stocktrace", "raw"))
    print()
    print(f"N = {n} jobs, {workers} workers, {runs} runs per side, PostgreSQL {server_version()}, "
          f"{os.cpu_count()} CPUs" + (", bytecode cache on" if OPTIONS["pycache"] else "")
          + ("" if OPTIONS["raw_prepare"] else ", raw without prepared statements"))
    after = os.getloadavg()[0]
    print(f"load average (1 min) before: {load[0]:.2f}, after: {after:.2f}"
          + (" -- WARNING: other work was running on the machine; rerun when it is quiet"
             if max(load[0], after) > 1.5 * workers else ""))
    print()
    print("| metric                                  | stocktrace | raw psycopg |  ratio | goal >= 50% |")
    print("|-----------------------------------------|-----------:|------------:|-------:|-------------|")
    for label, st, raw, goal in rows:
        verdict = ("met" if st / raw >= 0.5 else "NOT met") if goal else ""
        print(f"| {label:<39} | {st:10.0f} | {raw:11.0f} | {st / raw:6.1%} | {verdict:<11} |")
    st_cpu, raw_cpu = cpu_us("stocktrace"), cpu_us("raw")
    print(f"| {'worker CPU per job, us (median)':<39} | {st_cpu:10.0f} | {raw_cpu:11.0f} | "
          f"{st_cpu / raw_cpu:5.1f}x |             |")
    for i, label in ((0, "start-up of the workers, s wall"), (1, "start-up of the workers, s CPU")):
        print(f"| {label:<39} | {startup['stocktrace'][i]:10.2f} | {startup['raw'][i]:11.2f} |        |             |")
    if side("lean"):
        lean_wall, lean_win, lean_cpu = med("lean", "wall"), med("lean", "window"), cpu_us("lean")
        lean_ok = all(r["exactly_once"] for r in side("lean"))
        print(f"| {'EXPERIMENT lean worker: jobs/s, wall':<39} | {lean_wall:10.0f} | {med('raw', 'wall'):11.0f} | "
              f"{lean_wall / med('raw', 'wall'):6.1%} |             |")
        print(f"| {'EXPERIMENT lean worker: jobs/s, window':<39} | {lean_win:10.0f} | {med('raw', 'window'):11.0f} | "
              f"{lean_win / med('raw', 'window'):6.1%} |             |")
        print(f"| {'EXPERIMENT lean worker: CPU/job, us':<39} | {lean_cpu:10.0f} | {raw_cpu:11.0f} | "
              f"{lean_cpu / raw_cpu:5.1f}x | exactly once: {'yes' if lean_ok else 'NO'} |")
    print(f"| {'SUCCESSFUL jobs (fewest in a run)':<39} | {st_succ:10d} | {raw_succ:11d} |        |             |")
    print(f"| {'all SUCCESSFUL, each run exactly once':<39} | {'yes' if st_ok else 'NO':>10} | "
          f"{'yes' if raw_ok else 'NO':>11} |        |             |")
    print()
    print("wall = worker processes spawned -> last job finished (includes start-up); window = first job started ->"
          " last job finished;\nworker CPU per job = the worker processes' CPU, minus their start-up CPU (an empty"
          " queue run), over N; start-up = W workers finding an empty queue.")
    for r in results:
        if r["stderr"] or any(r["exit_codes"]):
            print(f"\n{r['side']} workers exited {r['exit_codes']}:\n" + "\n".join(r["stderr"])[-3000:])


# ---------------------------------------------------------------------------------------------- profile

def new_worker():
    """A StocktraceWorker as `stocktrace worker --batch --no-scheduler --interval 0 --queues default` builds it."""
    from django.utils.crypto import get_random_string

    from stocktrace.jobs.worker import StocktraceWorker

    return StocktraceWorker(
        queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id=get_random_string(32), excluded_queue_names=[], heartbeat_seconds=5.0,
        lease_seconds=60.0, schedule=False)


def enqueue_noops(n: int) -> None:
    from django.db import connection, transaction

    from stocktrace.jobs.tasks import noop

    with transaction.atomic():
        for i in range(n):
            noop.enqueue(n=i)
    connection.close()
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {TASKS_TABLE}")


class PhaseTimer:
    """Wraps functions with a timer that books each call's own time (its callees' wrapped time excluded) to a
    phase, on the main thread only: where one worker's time per job goes, at a small cost per wrapped call."""

    def __init__(self):
        import threading

        self.main = threading.main_thread()
        self.own: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[float] = []  # wrapped-callee time of each open call
        self.undo: list = []

    def wrap(self, owner, attr: str, phase: str) -> None:
        import threading

        original = owner.__dict__[attr]
        is_property = isinstance(original, property)
        func = original.fget if is_property else original
        timer = self

        def timed(*args, **kwargs):
            if threading.current_thread() is not timer.main:
                return func(*args, **kwargs)
            timer.stack.append(0.0)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                total = time.perf_counter() - started
                inner = timer.stack.pop()
                timer.own[phase] = timer.own.get(phase, 0.0) + total - inner
                timer.calls[phase] = timer.calls.get(phase, 0) + 1
                if timer.stack:
                    timer.stack[-1] += total

        setattr(owner, attr, property(timed) if is_property else timed)
        self.undo.append((owner, attr, original))

    def restore(self) -> None:
        for owner, attr, original in reversed(self.undo):
            setattr(owner, attr, original)


def profile(n: int, out: Path) -> None:
    """One stocktrace worker in this process on N noop jobs, three times: (1) phase timing, (2) database round
    trips per job with one full sample of each statement, (3) cProfile (written to `out`)."""
    import cProfile
    import pstats
    import threading
    from collections import Counter

    import django_tasks.base
    import django_tasks_db.management.commands.db_worker as db_worker
    from django.db import transaction
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql import compiler
    from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

    import stocktrace.jobs.worker as st_worker

    # (1) phase timing
    enqueue_noops(n)
    timer = PhaseTimer()
    timer.wrap(psycopg.Cursor, "execute", "psycopg: send query, wait for PostgreSQL")
    timer.wrap(psycopg.Connection, "commit", "psycopg: COMMIT round trip")
    timer.wrap(BaseDatabaseWrapper, "close_if_health_check_failed", "health check (SELECT 1), Django side")
    timer.wrap(compiler.SQLCompiler, "as_sql", "ORM: compile SELECT / UPDATE to SQL")
    timer.wrap(compiler.SQLUpdateCompiler, "as_sql", "ORM: compile SELECT / UPDATE to SQL")
    timer.wrap(DBTaskResultQuerySet, "ready", "ORM: build the queryset (ready/filter/select_for_update)")
    timer.wrap(DBTaskResultQuerySet, "get_locked", "ORM: build the queryset (ready/filter/select_for_update)")
    timer.wrap(DBTaskResult, "claim", "ORM: claim via Model.save(update_fields), rest")
    timer.wrap(DBTaskResult, "set_successful", "ORM: result via Model.save(update_fields), rest")
    timer.wrap(DBTaskResult, "task", "task / task_result properties (import_string, Task.using)")
    timer.wrap(DBTaskResult, "task_result", "task / task_result properties (import_string, Task.using)")
    timer.wrap(django_tasks.base.Task, "call", "the job itself (noop)")
    timer.wrap(transaction.Atomic, "__enter__", "transaction.atomic enter/exit, rest")
    timer.wrap(transaction.Atomic, "__exit__", "transaction.atomic enter/exit, rest")
    timer.wrap(st_worker.StocktraceWorker, "run_task", "run_task, rest")
    timer.wrap(db_worker.Worker, "run", "worker loop, rest (close_old_connections, queryset chaining, ...)")
    worker = new_worker()
    started = time.perf_counter()
    worker.run()
    elapsed = time.perf_counter() - started
    timer.restore()
    done = worker.tasks_done
    print(f"\n(1) one worker, phase timers on: {done} jobs in {elapsed:.2f} s = {elapsed / done * 1e6:.0f} us per job "
          f"({done / elapsed:.0f} jobs/s); own time per job by phase:")
    for phase, seconds in sorted(timer.own.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / done * 1e6:7.0f} us  {seconds / elapsed:5.1%}  {phase}  "
              f"({timer.calls[phase] / done:.1f} calls/job)")

    # (2) round trips of the worker's own (main-thread) connection
    enqueue_noops(n)
    main = threading.main_thread()
    trips: Counter = Counter()
    samples: dict[str, str] = {}
    original_execute, original_commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def statement(query, params) -> tuple[str, str]:
        text = " ".join((query.as_string(None) if hasattr(query, "as_string") else str(query)).split())
        key = text
        for marker in (" WHERE ", " VALUES ", " FROM "):
            key = key.split(marker)[0]
        return key[:90], f"{text}  -- params {params!r}"[:1500]

    def execute(self, query, params=None, *args, **kwargs):
        if threading.current_thread() is main:
            if not self.connection.autocommit and self.connection.info.transaction_status == 0:  # IDLE
                trips["BEGIN (sent by psycopg before the first statement of a transaction)"] += 1
            key, sample = statement(query, params)
            trips[key] += 1
            samples.setdefault(key, sample)
        return original_execute(self, query, params, *args, **kwargs)

    def commit(self):
        if threading.current_thread() is main:
            trips["COMMIT"] += 1
        return original_commit(self)

    psycopg.Cursor.execute, psycopg.Connection.commit = execute, commit
    worker = new_worker()
    worker.run()
    psycopg.Cursor.execute, psycopg.Connection.commit = original_execute, original_commit
    done = worker.tasks_done
    print(f"\n(2) database round trips of the worker's connection, per job ({done} jobs):")
    for key, count in trips.most_common():
        print(f"  {count / done:6.2f}  {key}")
    print(f"  {sum(trips.values()) / done:6.2f}  total")
    print("\n    one sample of each statement:")
    for key, count in trips.most_common():
        if count >= done and key in samples:
            print(f"    {samples[key]}")

    # (3) cProfile
    enqueue_noops(n)
    worker = new_worker()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    worker.run()
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"\n(3) cProfile: {worker.tasks_done} jobs in {elapsed:.2f} s with the profiler on")
    profiler.dump_stats(out)
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    print(f"profile written to {out} (python -m pstats {out})")


# ------------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="runs per side; the table shows medians")
    parser.add_argument("--profile", action="store_true", help="profile one stocktrace worker instead")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--pycache", action="store_true",
                        help=f"let worker processes use a bytecode cache in {PYCACHE_DIR} (start-up without "
                             "compiling every module when PYTHONDONTWRITEBYTECODE is set and the venv has no .pyc)")
    parser.add_argument("--raw-unprepared", action="store_true",
                        help="raw workers without psycopg's prepared statements, as Django runs its queries")
    parser.add_argument("--lean", action="store_true",
                        help="also run bench/jobs_lean_worker.py, an EXPERIMENT with the cuts the profile suggests")
    parser.add_argument("--raw-worker", metavar="DSN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OPTIONS.update(pycache=args.pycache, raw_prepare=not args.raw_unprepared)
    if args.raw_worker:
        return raw_worker(args.raw_worker, prepare=not args.raw_unprepared)

    os.chdir(ROOT)
    began, load = time.perf_counter(), os.getloadavg()
    create_database()
    try:
        print(f"migrated {DB_NAME} in {migrate():.1f} s", flush=True)
        setup_django()
        if args.profile:
            return profile(args.jobs, Path("/tmp/stocktrace-bench-jobs.prof"))
        results = []
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            create_raw_table(conn)
            startup = startup_cost(conn, args.workers, args.lean)
            for i in range(args.runs):
                sides = [stocktrace_run, raw_run]
                if args.lean:
                    sides.append(lambda *a: stocktrace_run(*a, side="lean"))
                for run in sides:
                    result = run(conn, args.jobs, args.workers)
                    results.append(result)
                    print(f"  run {i + 1} {result['side']:<10} {args.jobs / result['wall']:6.0f} jobs/s "
                          f"({result['wall']:.2f} s)", flush=True)
        report(results, args.jobs, args.workers, args.runs, startup, load)
        print(f"\nwhole benchmark: {time.perf_counter() - began:.0f} s")
    finally:
        if "django.db" in sys.modules and os.environ.get("DATABASE_URL") == DB_URL:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
