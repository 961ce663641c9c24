"""Jobs throughput on PostgreSQL: `stocktrace worker` against three raw psycopg job workers, in the same run.

    .venv/bin/python bench/jobs_throughput.py [--jobs 5000] [--workers 2] [--runs 3]
    .venv/bin/python bench/jobs_throughput.py --profile [--jobs 3000]   # where one stocktrace worker spends its time

Start-up is measured with compiled bytecode, as installed: the Makefile installs the dependencies with
`uv pip install --compile-bytecode`, but stocktrace is an editable install and this environment sets
PYTHONDONTWRITEBYTECODE=1, so its modules would be compiled at every process start. The benchmark first runs
`python -m compileall -q stocktrace config bench` and checks that every project module and every installed
module has its .pyc (it says so in its output); --no-compile skips that.

Options: --pycache lets the worker processes use a bytecode cache under /tmp instead (PYTHONPYCACHEPREFIX: the
.pyc written by compileall and the venv's are then not read);
--raw-unprepared runs the raw workers without psycopg's prepared statements (stocktrace's hot statements are
prepared at their first use by stocktrace.core.db, unless STOCKTRACE_DB_PREPARE is off; the ORM's never are).
--profile runs one StocktraceWorker in-process three times: phase timers (own time per job: claim statement,
job call, result statement, rest), database round trips per job with a sample of each statement, and cProfile
(/tmp/stocktrace-bench-jobs.prof).

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth):

1. Drops and creates the database `st_bench_jobs` (psycopg on the `postgres` database) and migrates it
   with `stocktrace migrate`.
2. stocktrace side, per run: empties the job table, enqueues N `stocktrace.jobs.tasks.noop(n=i)` jobs through
   the ORM in one transaction, then starts W processes of
   `stocktrace worker --batch --no-scheduler --interval 0 --queues default` and waits until every job is
   SUCCESSFUL (or every worker has exited).
3. raw sides, per run: the same shape of work on a plain table `raw_jobs` (a partial index on the READY rows,
   like django-tasks-db's), N rows, and W psycopg processes (autocommit connection) each looping until no row
   is READY. All run a trivial python function between the claim and the result, and all commit the claim
   before the job runs and the result before the next job starts: minimal correct job workers. They differ in
   how the claim and the result reach PostgreSQL.
   "raw", the classic claim (4 round trips: BEGIN, SELECT, UPDATE, COMMIT), then the result (1 more):
       BEGIN; SELECT id, args FROM raw_jobs WHERE status='READY' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED;
              UPDATE raw_jobs SET status='RUNNING', started_at=now() WHERE id=...; COMMIT
       UPDATE raw_jobs SET status='SUCCESSFUL', finished_at=now(), result=... WHERE id=...   (autocommit)
   "raw-1stmt", the claim in one autocommitted statement, then the same result UPDATE (2 round trips):
       UPDATE raw_jobs SET status='RUNNING', started_at=now()
       WHERE id = (SELECT id FROM raw_jobs WHERE status='READY' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, args
   "raw-combined", the shape `stocktrace worker` uses on PostgreSQL (1 round trip per job): each claim after
   the first carries the previous job's result in the same autocommitted statement,
       WITH finished AS (UPDATE raw_jobs SET status='SUCCESSFUL', finished_at=now(), result=%s WHERE id=%s)
       UPDATE raw_jobs SET status='RUNNING', started_at=now() WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)
       RETURNING id, args
   the first claim is the raw-1stmt statement; the claim that finds no row still records the last result.
   A failed job (never, with the noop) is recorded FAILED by a separate UPDATE, on every raw side.
4. The sides alternate (stocktrace, raw, raw-1stmt, raw-combined, stocktrace, ...) `--runs` times each; the
   table shows the medians.

Timing: `wall` runs from just before the worker processes are spawned to the last job's `finished_at`
(both clocks are this machine's), so it includes process start-up (Django's set-up for stocktrace, a bare
`import psycopg` for raw). `window` is first `started_at` to last `finished_at`: the steady-state rate, start-up
excluded. The goal is stocktrace >= 50% of raw on the `wall` median, judged against the fastest of the three
raw sides (results: docs/performance.md). The table also shows the worker processes' CPU per job (start-up
taken out) and the start-up cost itself, measured per side with W workers on an empty queue.

"Exactly once" is checked from the rows: every row SUCCESSFUL with the return value of its own argument, and
claimed once (stocktrace appends the worker id on each claim: `worker_ids` has one entry; raw: the workers' own
counts of jobs run add up to N).

Not part of the test suite. Drops `st_bench_jobs` at the end (`--keep` keeps it).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
DB_NAME = bench_db("jobs")
DB_URL = f"{SERVER}/{DB_NAME}"
BIN = Path(sys.executable).parent
TASKS_TABLE = "django_tasks_database_dbtaskresult"
RUN_TIMEOUT = 300.0
PYCACHE_DIR = "/tmp/stocktrace-bench-pycache"
STOCKTRACE_WORKER = [str(BIN / "stocktrace"), "worker", "--batch", "--no-scheduler", "--interval", "0",
                     "--queues", "default"]
RAW_SIDES = ("raw", "raw-1stmt", "raw-combined")
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


def raw_worker_cmd(side: str) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--raw-worker", DB_URL]
    if side in ("raw-1stmt", "raw-combined"):
        cmd.append(f"--{side}")
    return cmd if OPTIONS["raw_prepare"] else [*cmd, "--raw-unprepared"]


# --------------------------------------------------------------------------------------------- bytecode

COMPILED = ("stocktrace", "config", "bench")


def compile_bytecode() -> str:
    """Start-up as installed: the Makefile installs the dependencies with `uv pip install --compile-bytecode`,
    but stocktrace itself is an editable install, so its modules have no .pyc until something writes them, and
    this environment sets PYTHONDONTWRITEBYTECODE=1, so nothing does: every worker would compile every
    stocktrace module at start-up. `python -m compileall` writes them (next to the sources, in __pycache__,
    ignored by git) for stocktrace, config and bench (the raw workers run from there); PYTHONDONTWRITEBYTECODE
    only stops writing, so the workers read them. Returns what was checked, for the report."""
    done = subprocess.run([sys.executable, "-m", "compileall", "-q", *COMPILED], cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode:
        sys.exit(f"compileall failed:\n{done.stdout}\n{done.stderr}")
    sources = [path for folder in COMPILED for path in (ROOT / folder).rglob("*.py")]
    tag = sys.implementation.cache_tag
    missing = [path for path in sources if not (path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").exists()]
    site = Path(psycopg.__file__).resolve().parents[1]
    site_sources = [path for path in site.rglob("*.py") if "__editable__" not in path.name]
    site_missing = sum(1 for path in site_sources
                       if not (path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").exists())
    if missing or site_missing:
        sys.exit(f"no .pyc for {len(missing)} of {len(sources)} project modules ({missing[:3]}) and "
                 f"{site_missing} of {len(site_sources)} installed ones: start-up would include compiling")
    return (f"start-up measured with compiled bytecode as installed: `python -m compileall -q "
            f"{' '.join(COMPILED)}` ran first, .pyc present for all {len(sources)} project modules and all "
            f"{len(site_sources)} modules in site-packages"
            + ("" if not OPTIONS["pycache"] else f"; --pycache: workers read and write {PYCACHE_DIR} instead"))


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


RAW_CLAIM_1STMT = ("UPDATE raw_jobs SET status = 'RUNNING', started_at = now() WHERE id = (SELECT id FROM raw_jobs "
                   "WHERE status = 'READY' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, args")
RAW_RESULT = "UPDATE raw_jobs SET status = 'SUCCESSFUL', finished_at = now(), result = %s WHERE id = %s"
RAW_FINISH_THEN_CLAIM = (f"WITH finished AS ({RAW_RESULT}) {RAW_CLAIM_1STMT}")


def raw_claim_classic(conn):
    """BEGIN; SELECT ... FOR UPDATE SKIP LOCKED; UPDATE; COMMIT: 4 round trips."""
    with conn.transaction():
        row = conn.execute("SELECT id, args FROM raw_jobs WHERE status = 'READY' ORDER BY id LIMIT 1 "
                           "FOR UPDATE SKIP LOCKED").fetchone()
        if row is not None:
            conn.execute("UPDATE raw_jobs SET status = 'RUNNING', started_at = now() WHERE id = %s", (row[0],))
    return row


def raw_claim_one_statement(conn):
    """UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING ..., autocommitted: 1 round trip."""
    return conn.execute(RAW_CLAIM_1STMT).fetchone()


def raw_claim_finish_then_claim(conn, finished):
    """The previous job's result (`finished`: (result, id), or None) and the next claim in one autocommitted
    statement: 1 round trip. The result is recorded even when no row is left to claim."""
    if finished is None:
        return raw_claim_one_statement(conn)
    return conn.execute(RAW_FINISH_THEN_CLAIM, finished).fetchone()


def raw_worker(dsn: str, prepare: bool, mode: str) -> None:
    """A minimal correct job worker: claim committed before running, result committed before the next job
    starts (`mode` "raw-combined": with the next claim; the others: right after the job). psycopg's default
    prepares a statement on its 5th execution (stocktrace.core.db prepares the worker's at the first)."""
    conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=5 if prepare else None)
    claim = {"raw": raw_claim_classic, "raw-1stmt": raw_claim_one_statement}.get(mode)
    combined = mode == "raw-combined"
    pending = None  # raw-combined: (result, id) of the last successful job, recorded with the next claim
    done = 0
    while True:
        row = raw_claim_finish_then_claim(conn, pending) if combined else claim(conn)
        pending = None
        if row is None:
            break
        job_id, args = row
        try:
            value = raw_noop(*args["args"], **args["kwargs"])
        except Exception as error:  # noqa: BLE001
            conn.execute("UPDATE raw_jobs SET status = 'FAILED', finished_at = now(), result = %s WHERE id = %s",
                         (Jsonb(repr(error)), job_id))
        else:
            if combined:
                pending = (Jsonb(value), job_id)
            else:
                conn.execute(RAW_RESULT, (Jsonb(value), job_id))
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

    cpu_before = cpu_snapshot()
    spawned_at = time.time()
    procs = [subprocess.Popen(STOCKTRACE_WORKER, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(workers)]
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


def raw_run(conn, n: int, workers: int, side: str) -> dict:
    conn.execute("TRUNCATE raw_jobs RESTART IDENTITY")
    started = time.perf_counter()
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO raw_jobs (status, args, enqueued_at) VALUES ('READY', %s, now())",
                            [(Jsonb({"args": [], "kwargs": {"n": i}}),) for i in range(n)])
    enqueue_s = time.perf_counter() - started
    conn.execute("VACUUM ANALYZE raw_jobs")

    cmd = raw_worker_cmd(side)
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
        "side": side, "wall": wall, "window": window, "enqueue": enqueue_s,
        "exactly_once": total == ok == right == sum(split) == n, "successful": ok, "split": split,
        "exit_codes": [p.returncode for p in procs], "stderr": [err.strip() for _, err in outs if err.strip()],
        **cpu,
    }


def startup_cost(conn, workers: int) -> dict:
    """Wall and CPU seconds of W workers that find an empty queue and exit: the fixed cost in `wall`."""
    conn.execute(f"TRUNCATE {TASKS_TABLE}")
    conn.execute("TRUNCATE raw_jobs")
    cost = {}
    import shutil
    import tempfile

    # For comparison only (not in the table): stocktrace workers that read no bytecode at all (the cache prefix
    # points at an empty folder and nothing is written), so every module, Django's included, is compiled.
    empty = tempfile.mkdtemp(prefix="stocktrace-bench-nopyc-")
    cold = {**child_env(), "PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"}
    for side, cmd, env in (("stocktrace", STOCKTRACE_WORKER, child_env()),
                           *((name, raw_worker_cmd(name), child_env()) for name in RAW_SIDES),
                           ("stocktrace, no bytecode", STOCKTRACE_WORKER, cold)):
        before, started = cpu_snapshot(), time.perf_counter()
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
        for p in procs:
            p.wait()
        cost[side] = (time.perf_counter() - started, cpu_snapshot()[0] - before[0])
    shutil.rmtree(empty, ignore_errors=True)
    return cost


# ----------------------------------------------------------------------------------------------- report

def report(results: list[dict], n: int, workers: int, runs: int, startup: dict, load: tuple) -> None:
    def side(name):
        return [r for r in results if r["side"] == name]

    def med(name, key):
        return statistics.median(n / r[key] for r in side(name))

    def best(name):
        return max(n / r["wall"] for r in side(name))

    def cpu_us(name):  # worker CPU per job with the measured start-up CPU taken out
        return statistics.median((r["worker_cpu"] - startup[name][1]) * 1e6 / n for r in side(name))

    def fewest(name):
        return min(r["successful"] for r in side(name))

    def once(name):
        return "yes" if all(r["exactly_once"] for r in side(name)) else "NO"

    print()
    print("runs:")
    for r in results:
        print(f"  {r['side']:<12} wall {n / r['wall']:6.0f} jobs/s  window {n / r['window']:6.0f} jobs/s  "
              f"({r['wall']:5.2f} s; workers' CPU {r['worker_cpu']:5.2f} s; machine busy {r['machine_busy']:4.0%}; "
              f"enqueue {r['enqueue']:.2f} s; jobs per worker {r['split']}; "
              f"exactly once: {'yes' if r['exactly_once'] else 'NO'})")
    print()
    print(f"N = {n} jobs, {workers} workers, {runs} runs per side, PostgreSQL {server_version()}, "
          f"{os.cpu_count()} CPUs" + (", bytecode cache on" if OPTIONS["pycache"] else "")
          + ("" if OPTIONS["raw_prepare"] else ", raw without prepared statements"))
    after = os.getloadavg()[0]
    print(f"load average (1 min) before: {load[0]:.2f}, after: {after:.2f}"
          + (" -- WARNING: other work was running on the machine; rerun when it is quiet"
             if max(load[0], after) > 1.5 * workers else ""))
    print()

    def ratio(st, raw):  # a rate: stocktrace / raw as a percentage
        return f"{st / raw:6.1%}"

    def times(st, raw):  # a cost: stocktrace / raw as a factor
        return f"{st / raw:5.2f}x"

    rows = [  # label, value per side, how to compare, format
        ("jobs/s, wall (median)", {s: med(s, "wall") for s in ("stocktrace", *RAW_SIDES)}, ratio, "{:.0f}"),
        ("jobs/s, steady-state window (median)", {s: med(s, "window") for s in ("stocktrace", *RAW_SIDES)},
         ratio, "{:.0f}"),
        ("jobs/s, wall (best run)", {s: best(s) for s in ("stocktrace", *RAW_SIDES)}, ratio, "{:.0f}"),
        ("worker CPU per job, us (median)", {s: cpu_us(s) for s in ("stocktrace", *RAW_SIDES)}, times, "{:.0f}"),
        (f"start-up of the {workers} workers, s wall", {s: startup[s][0] for s in ("stocktrace", *RAW_SIDES)},
         None, "{:.2f}"),
        (f"start-up of the {workers} workers, s CPU", {s: startup[s][1] for s in ("stocktrace", *RAW_SIDES)},
         None, "{:.2f}"),
        ("SUCCESSFUL jobs (fewest in a run)", {s: fewest(s) for s in ("stocktrace", *RAW_SIDES)}, None, "{}"),
        ("all SUCCESSFUL, each run exactly once", {s: once(s) for s in ("stocktrace", *RAW_SIDES)}, None, "{}"),
    ]
    headers = ["metric", "stocktrace"]
    for name in RAW_SIDES:
        headers += [name, f"st / {name}"]
    widths = [max(39, *(len(row[0]) for row in rows))] + [max(10, len(h)) for h in headers[1:]]

    def line(cells):  # the first column left-aligned, the others right-aligned
        return "| " + " | ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
    for label, values, compare, fmt in rows:
        cells = [label, fmt.format(values["stocktrace"])]
        for name in RAW_SIDES:
            cells += [fmt.format(values[name]), compare(values["stocktrace"], values[name]).strip() if compare else ""]
        print(line(cells))
    print()
    fastest = max(RAW_SIDES, key=lambda s: med(s, "wall"))
    share = med("stocktrace", "wall") / med(fastest, "wall")
    print(f"goal, stocktrace >= 50% of the fastest raw side on the wall median: {'met' if share >= 0.5 else 'NOT met'}"
          f" (stocktrace {med('stocktrace', 'wall'):.0f} jobs/s = {share:.1%} of {fastest}, "
          f"{med(fastest, 'wall'):.0f} jobs/s, the fastest raw side; "
          + ", ".join(f"{name} {med(name, 'wall'):.0f}" for name in RAW_SIDES) + ")")
    print()
    print("wall = worker processes spawned -> last job finished (includes start-up); window = first job started ->"
          " last job finished;\nworker CPU per job = the worker processes' CPU, minus their start-up CPU (an empty"
          " queue run), over N; start-up = W workers finding an empty queue;\n"
          "st / side = stocktrace's rate as a share of the side's (a cost: stocktrace's as a multiple of the side's);\n"
          "stocktrace = one statement per job: the result UPDATE rides in the next claim (WITH finished AS (UPDATE"
          " ...) UPDATE ... RETURNING), the last result alone when it stops;\n"
          "raw = BEGIN, SELECT ... FOR UPDATE SKIP LOCKED, UPDATE, COMMIT, then the result UPDATE (5 round trips);\n"
          "raw-1stmt = one UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING, then the result"
          " UPDATE (2);\nraw-combined = the raw-1stmt claim with the previous job's result in a WITH finished AS"
          " (UPDATE ...) part, as stocktrace does (1).")
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
    phase, on the main thread only: where one worker's time per job goes, at a small cost per wrapped call.
    A phase of None is a database round trip, booked to the enclosing phase's group (the text before ':')."""

    def __init__(self):
        import threading

        self.main = threading.main_thread()
        self.own: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[float] = []  # wrapped-callee time of each open call
        self.phases: list[str] = []  # phase of each open call
        self.undo: list = []

    def wrap(self, owner, attr: str, phase: str | None) -> None:
        import threading

        original = owner.__dict__[attr]
        is_property = isinstance(original, property)
        func = original.fget if is_property else original
        timer = self

        def timed(*args, **kwargs):
            if threading.current_thread() is not timer.main:
                return func(*args, **kwargs)
            label = phase
            if label is None:
                group = timer.phases[-1].split(":")[0] if timer.phases else "outside the job loop"
                label = f"{group}: psycopg execute (bind, send, wait for PostgreSQL)"
            timer.stack.append(0.0)
            timer.phases.append(label)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                total = time.perf_counter() - started
                inner = timer.stack.pop()
                timer.phases.pop()
                timer.own[label] = timer.own.get(label, 0.0) + total - inner
                timer.calls[label] = timer.calls.get(label, 0) + 1
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

    import stocktrace.jobs.queue as st_queue
    import stocktrace.jobs.worker as st_worker

    # (1) phase timing: own time per phase; every psycopg execute is booked to the phase that issued it
    enqueue_noops(n)
    timer = PhaseTimer()
    timer.wrap(psycopg.Cursor, "execute", None)
    timer.wrap(psycopg.Connection, "commit", None)
    timer.wrap(st_queue.ReadyJobs, "claim",
               "claim statement (with the last result): Python (params, ensure_connection, row -> ClaimedJob)")
    timer.wrap(st_worker, "finished", "result: Python (json.dumps of the return value)")
    timer.wrap(st_queue.ReadyJobs, "record", "result statement when stopping: Python")
    timer.wrap(django_tasks.base.Task, "call", "job call: Task.call + noop")
    timer.wrap(st_worker.StocktraceWorker, "_task", "rest: task lookup (cached per path)")
    timer.wrap(st_worker, "close_old_connections", "health check: close_old_connections (once a second)")
    timer.wrap(st_worker.StocktraceWorker, "run_task", "rest: run_task, own time")
    timer.wrap(st_worker.StocktraceWorker, "_loop", "rest: worker loop, own time (timezone.now, ...)")
    worker = new_worker()
    started, cpu_started = time.perf_counter(), time.process_time()
    worker.run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    timer.restore()
    done = worker.tasks_done
    print(f"\n(1) one worker, phase timers on: {done} jobs in {elapsed:.2f} s = {elapsed / done * 1e6:.0f} us per job "
          f"({done / elapsed:.0f} jobs/s), of which {cpu / done * 1e6:.0f} us CPU of this process;"
          " own time per job by phase:")
    for phase, seconds in sorted(timer.own.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / done * 1e6:7.0f} us  {seconds / elapsed:5.1%}  {phase}  "
              f"({timer.calls[phase] / done:.2f} calls/job)")
    groups: dict[str, float] = {}
    for phase, seconds in timer.own.items():
        group = phase.split(":")[0]
        groups[group] = groups.get(group, 0.0) + seconds
    print("    by group (Python + its round trips):")
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / done * 1e6:7.0f} us  {seconds / elapsed:5.1%}  {group}")
    unaccounted = elapsed - sum(timer.own.values())
    print(f"  {unaccounted / done * 1e6:7.0f} us  {unaccounted / elapsed:5.1%}  not in a timed phase "
          "(worker set-up and stop, timer overhead)")

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
    parser.add_argument("--no-compile", action="store_true",
                        help="do not run compileall first (start-up then includes compiling stocktrace's modules)")
    parser.add_argument("--raw-unprepared", action="store_true",
                        help="raw workers without psycopg's prepared statements, as Django runs its queries")
    parser.add_argument("--raw-worker", metavar="DSN", help=argparse.SUPPRESS)
    parser.add_argument("--raw-1stmt", action="store_true", help=argparse.SUPPRESS)  # raw worker: one-statement claim
    parser.add_argument("--raw-combined", action="store_true", help=argparse.SUPPRESS)  # raw: result with next claim
    args = parser.parse_args()
    OPTIONS.update(pycache=args.pycache, raw_prepare=not args.raw_unprepared)
    if args.raw_worker:
        mode = "raw-combined" if args.raw_combined else "raw-1stmt" if args.raw_1stmt else "raw"
        return raw_worker(args.raw_worker, prepare=not args.raw_unprepared, mode=mode)

    os.chdir(ROOT)
    began, load = time.perf_counter(), os.getloadavg()
    create_database()
    try:
        print(f"migrated {DB_NAME} in {migrate():.1f} s", flush=True)
        setup_django()
        if args.profile:
            return profile(args.jobs, Path("/tmp/stocktrace-bench-jobs.prof"))
        bytecode = compile_bytecode() if not args.no_compile else (
            "start-up measured WITHOUT compiling stocktrace first (--no-compile): each worker may compile modules")
        print(bytecode, flush=True)
        results = []
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            create_raw_table(conn)
            startup = startup_cost(conn, args.workers)
            for i in range(args.runs):
                for name in ("stocktrace", *RAW_SIDES):
                    if name == "stocktrace":
                        result = stocktrace_run(conn, args.jobs, args.workers)
                    else:
                        result = raw_run(conn, args.jobs, args.workers, name)
                    results.append(result)
                    print(f"  run {i + 1} {result['side']:<12} {args.jobs / result['wall']:6.0f} jobs/s "
                          f"({result['wall']:.2f} s)", flush=True)
        report(results, args.jobs, args.workers, args.runs, startup, load)
        print(f"\n{bytecode}")
        wall, cpu = startup["stocktrace, no bytecode"]
        print(f"for comparison, in the same run: {args.workers} stocktrace workers reading no bytecode at all (every "
              f"module compiled at start-up) took {wall:.2f} s wall, {cpu:.2f} s CPU to start and stop, against "
              f"{startup['stocktrace'][0]:.2f} s and {startup['stocktrace'][1]:.2f} s with it")
        print(f"\nwhole benchmark: {time.perf_counter() - began:.0f} s")
    finally:
        if "django.db" in sys.modules and os.environ.get("DATABASE_URL") == DB_URL:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
