"""Jobs throughput on PostgreSQL: `stocktrace worker` against a raw psycopg job worker, in the same run.

    .venv/bin/python bench/jobs_throughput.py [--jobs 5000] [--workers 2] [--runs 3]
    .venv/bin/python bench/jobs_throughput.py --profile [--jobs 2000]   # where a stocktrace worker spends its time

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
excluded. The goal (docs/performance.md) is stocktrace >= 50% of raw on the `wall` rate.

"Exactly once" is checked from the rows: every row SUCCESSFUL with the return value of its own argument, and
claimed once (django-tasks-db appends the worker id on each claim: `worker_ids` has one entry; raw: the
workers' own counts of jobs run add up to N).

Not part of the test suite. Drops `stocktrace_bench` at the end (`--keep` keeps it).
"""

import argparse
import json
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


def child_env() -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DB_URL,
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        SECRET_KEY=env.get("SECRET_KEY", "bench-only-not-a-secret"),  # nothing written under var/
    )
    return env


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


def raw_worker(dsn: str) -> None:
    """A minimal correct job worker: claim committed before running, result committed after."""
    conn = psycopg.connect(dsn, autocommit=True)
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


def stocktrace_run(conn, n: int, workers: int) -> dict:
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

    cmd = [str(BIN / "stocktrace"), "worker", "--batch", "--no-scheduler", "--interval", "0", "--queues", "default"]
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
        "side": "stocktrace", "wall": wall, "window": window, "enqueue": enqueue_s,
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

    cmd = [sys.executable, str(Path(__file__).resolve()), "--raw-worker", DB_URL]
    cpu_before = cpu_snapshot()
    spawned_at = time.time()
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
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


def startup_cost(conn, workers: int) -> dict:
    """Wall and CPU seconds of W workers that find an empty queue and exit: the fixed cost in `wall`."""
    conn.execute(f"TRUNCATE {TASKS_TABLE}")
    conn.execute("TRUNCATE raw_jobs")
    cost = {}
    for side, cmd, env in (
        ("stocktrace", [str(BIN / "stocktrace"), "worker", "--batch", "--no-scheduler", "--interval", "0",
                        "--queues", "default"], child_env()),
        ("raw", [sys.executable, str(Path(__file__).resolve()), "--raw-worker", DB_URL], None),
    ):
        before, started = cpu_snapshot(), time.perf_counter()
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
        for p in procs:
            p.wait()
        cost[side] = (time.perf_counter() - started, cpu_snapshot()[0] - before[0])
    return cost


# ----------------------------------------------------------------------------------------------- report

def report(results: list[dict], n: int, workers: int, runs: int, startup: dict) -> None:
    def rates(side, key):
        return [n / r[key] for r in results if r["side"] == side]

    print()
    print("runs (jobs/s):")
    for r in results:
        print(f"  {r['side']:<10}  wall {n / r['wall']:8.0f}  window {n / r['window']:8.0f}   "
              f"({r['wall']:.2f} s, worker CPU {r['worker_cpu'] * 1e6 / n:4.0f} us/job, machine busy "
              f"{r['machine_busy']:4.0%}, enqueue {r['enqueue']:.2f} s, per worker {r['split']}, "
              f"exactly once: {'yes' if r['exactly_once'] else 'NO'})")
    st_wall, raw_wall = statistics.median(rates("stocktrace", "wall")), statistics.median(rates("raw", "wall"))
    st_win, raw_win = statistics.median(rates("stocktrace", "window")), statistics.median(rates("raw", "window"))
    st_ok = all(r["exactly_once"] for r in results if r["side"] == "stocktrace")
    raw_ok = all(r["exactly_once"] for r in results if r["side"] == "raw")
    st_succ = min(r["successful"] for r in results if r["side"] == "stocktrace")
    raw_succ = min(r["successful"] for r in results if r["side"] == "raw")
    ratio_wall, ratio_win = st_wall / raw_wall, st_win / raw_win
    print()
    print(f"median of {runs} runs per side, N = {n} jobs, {workers} workers, PostgreSQL {server_version()}")
    print()
    print("| metric                         | stocktrace | raw psycopg | ratio  | goal   |")
    print("|--------------------------------|-----------:|------------:|-------:|--------|")
    print(f"| jobs/s (wall, incl. start-up)  | {st_wall:10.0f} | {raw_wall:11.0f} | {ratio_wall:6.1%} | "
          f"{'met' if ratio_wall >= 0.5 else 'NOT met'} (>= 50%) |")
    print(f"| jobs/s (window, steady state)  | {st_win:10.0f} | {raw_win:11.0f} | {ratio_win:6.1%} |        |")
    print(f"| SUCCESSFUL == N, each run once | {'yes' if st_ok else 'NO':>10} | {'yes' if raw_ok else 'NO':>11} |"
          f"        |        |")
    print(f"| SUCCESSFUL (min over runs)     | {st_succ:10d} | {raw_succ:11d} |        |        |")
    st_cpu = statistics.median(r["worker_cpu"] * 1e6 / n for r in results if r["side"] == "stocktrace")
    raw_cpu = statistics.median(r["worker_cpu"] * 1e6 / n for r in results if r["side"] == "raw")
    print(f"| worker CPU per job (us, median)| {st_cpu:10.0f} | {raw_cpu:11.0f} | {st_cpu / raw_cpu:5.1f}x |        |")
    print(f"| start-up, empty queue (s wall) | {startup['stocktrace'][0]:10.2f} | {startup['raw'][0]:11.2f} |"
          f"        |        |")
    print(f"| start-up, empty queue (s CPU)  | {startup['stocktrace'][1]:10.2f} | {startup['raw'][1]:11.2f} |"
          f"        |        |")
    print("(worker CPU per job includes the start-up CPU spread over N jobs; wall = spawn to last job finished;"
          " window = first job started to last job finished)")
    for r in results:
        if r["stderr"] or any(r["exit_codes"]):
            print(f"\n{r['side']} workers exited {r['exit_codes']}:\n" + "\n".join(r["stderr"])[-3000:])


# ---------------------------------------------------------------------------------------------- profile

def profile(n: int, out: Path) -> None:
    """One StocktraceWorker in this process (as `stocktrace worker --batch --no-scheduler --interval 0
    --queues default --max-tasks N` builds it) under cProfile, counting database round trips per job."""
    import cProfile
    import pstats
    from collections import Counter

    from django.db import connection, transaction
    from django.utils.crypto import get_random_string

    from stocktrace.jobs.tasks import noop
    from stocktrace.jobs.worker import StocktraceWorker

    with transaction.atomic():
        for i in range(n):
            noop.enqueue(n=i)
    connection.close()
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {TASKS_TABLE}")

    worker = StocktraceWorker(
        queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=n, worker_id=get_random_string(32), excluded_queue_names=[], heartbeat_seconds=5.0,
        lease_seconds=60.0, schedule=False)

    # Round trips of the worker's own (main-thread) connection: statements, implicit BEGINs, COMMITs.
    import threading

    main = threading.main_thread()
    trips: Counter = Counter()
    original_execute, original_commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def first_words(query) -> str:
        text = query.as_string(None) if hasattr(query, "as_string") else str(query)
        words = " ".join(text.split())
        for marker in (" WHERE ", " VALUES "):
            words = words.split(marker)[0]
        return words[:110]

    def execute(self, query, *args, **kwargs):
        if threading.current_thread() is main:
            if not self.connection.autocommit and self.connection.info.transaction_status == 0:  # IDLE
                trips["BEGIN (implicit, psycopg)"] += 1
            trips[first_words(query)] += 1
        return original_execute(self, query, *args, **kwargs)

    def commit(self):
        if threading.current_thread() is main:
            trips["COMMIT"] += 1
        return original_commit(self)

    psycopg.Cursor.execute, psycopg.Connection.commit = execute, commit
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    worker.run()
    profiler.disable()
    elapsed = time.perf_counter() - started
    psycopg.Cursor.execute, psycopg.Connection.commit = original_execute, original_commit

    done = worker.tasks_done
    print(f"\none worker, in-process under cProfile: {done} jobs in {elapsed:.2f} s "
          f"({done / elapsed:.0f} jobs/s with the profiler on)\n")
    print("database round trips of the worker's connection, per job:")
    for text, count in trips.most_common():
        print(f"  {count / done:6.2f}  {text}")
    print(f"  {sum(trips.values()) / done:6.2f}  total\n")
    profiler.dump_stats(out)
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    print(f"profile written to {out} (python -m pstats {out})")


# ------------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="runs per side; the table shows medians")
    parser.add_argument("--profile", action="store_true", help="profile one stocktrace worker instead")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--raw-worker", metavar="DSN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_worker:
        return raw_worker(args.raw_worker)

    os.chdir(ROOT)
    began = time.perf_counter()
    create_database()
    try:
        print(f"migrated {DB_NAME} in {migrate():.1f} s", flush=True)
        setup_django()
        if args.profile:
            return profile(args.jobs, ROOT / "bench" / "jobs_worker.prof")
        results = []
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            create_raw_table(conn)
            startup = startup_cost(conn, args.workers)
            for i in range(args.runs):
                for run in (stocktrace_run, raw_run):
                    result = run(conn, args.jobs, args.workers)
                    results.append(result)
                    print(f"  run {i + 1} {result['side']:<10} {args.jobs / result['wall']:6.0f} jobs/s "
                          f"({result['wall']:.2f} s)", flush=True)
        report(results, args.jobs, args.workers, args.runs, startup)
        print(f"\nwhole benchmark: {time.perf_counter() - began:.0f} s")
        with open(ROOT / "bench" / "jobs_throughput.last.json", "w") as handle:
            json.dump({"jobs": args.jobs, "workers": args.workers, "runs": results}, handle, indent=1)
    finally:
        if "django.db" in sys.modules and os.environ.get("DATABASE_URL") == DB_URL:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
