"""Inbound webhooks accepted per second vs the bare /healthz rate, through the production server.

    .venv/bin/python bench/webhooks_accept.py [--seconds 5] [--rounds 5] [--clients 8] [--database postgres|sqlite]
                                              [--server-threads 4]

Starts `stocktrace serve` (granian, 2 processes) on a fresh database, then drives it from 2 client
processes with persistent connections, in alternating rounds (so drift on a shared machine hits every side):
GET /healthz for --seconds, then signed POSTs to /hooks/<org>/<source>, each with its own delivery id,
for --seconds. The ratio judged is the median of the rounds' ratios. A push counts as accepted only when
answered 202; anything else (another status, a connection error) is counted by status and reported as refused,
and a run with any refusal is flagged and exits non-zero. Every accepted push must be stored (checked at the
end, for the bare floor too). Loopback only.

On PostgreSQL each round has a third phase, the floor: the same signed pushes to a bare WSGI app under the
same granian settings (bench/_raw_wsgi.py: signature, delivery id and JSON checks, the file rate-limit
counter and the same one-statement insert through psycopg, no framework). It shows how much of the gap to
/healthz any Python web application pays here, and how much is stocktrace's own.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from _common import bench_db, start_raw_server  # noqa: E402

from stocktrace.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BODY = json.dumps({"sites": [{"code": "BENCH-1", "name": "Bench site", "address": "Loopback"}]}).encode()


BARE_PREFIX = "bare-"
DB_NAME = bench_db("hooks")


def wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"nothing answers /healthz on port {port}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(kind: str, data_dir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


def drop_database(kind: str, data_dir: Path) -> None:
    """Leave nothing behind: the scratch database and the data directory (secret key, static files)."""
    shutil.rmtree(data_dir, ignore_errors=True)
    if kind == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def client_worker(port, path, method, secret, seconds, threads, counts, delivery_prefix):
    """`threads` clients for `seconds`. A push counts as accepted only on 202 (stored, job queued); a GET only on
    200. Any other status, and any connection error, is counted apart (by status) and never as accepted."""
    def run(slot):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok, refused = 0, {}
        expected = 202 if method == "POST" else 200
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            headers = {}
            body = None
            if method == "POST":
                timestamp = int(time.time())
                body = BODY
                headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery_prefix + uuid.uuid4().hex,
                           TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if status == expected:
                ok += 1
            else:
                refused[str(status)] = refused.get(str(status), 0) + 1
        counts.append((ok, refused))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def drive(port, path, method, secret, seconds, clients, delivery_prefix="") -> tuple[float, int, dict]:
    """(accepted per second, accepted, {status: count} of everything else)."""
    manager = multiprocessing.Manager()
    counts = manager.list()
    processes = [multiprocessing.Process(target=client_worker,
                                         args=(port, path, method, secret, seconds, clients // 2, counts,
                                               delivery_prefix))
                 for _ in range(2)]
    started = time.perf_counter()
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    elapsed = time.perf_counter() - started
    if len(counts) != 2 * (clients // 2):
        sys.exit(f"{len(counts)} of {2 * (clients // 2)} client threads reported: a client died")
    ok = sum(c[0] for c in counts)
    refused: dict[str, int] = {}
    for _, by_status in counts:
        for status, number in by_status.items():
            refused[status] = refused.get(status, 0) + number
    return ok / elapsed, ok, refused


def merged(*refusals: dict) -> dict:
    total: dict[str, int] = {}
    for by_status in refusals:
        for status, number in by_status.items():
            total[status] = total.get(status, 0) + number
    return total


def stored_bare(database_url: str) -> int | None:
    if not database_url.startswith("postgres"):
        return None
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM webhooks_inbounddelivery WHERE delivery_id LIKE %s",
                            (BARE_PREFIX + "%",)).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--server-workers", type=int, default=2, help="server processes")
    parser.add_argument("--server-threads", type=int, default=4, help="blocking threads per server process")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="stocktrace-bench-"))
    env = {**os.environ, "DATABASE_URL": prepare_database(args.database, data_dir),
           "STOCKTRACE_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" + "x" * 50, "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    stocktrace = [sys.executable, "-m", "stocktrace.cli"]
    subprocess.run([*stocktrace, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([*stocktrace, "shell", "-c", """
from stocktrace.accounts.models import User
from stocktrace.accounts.services import organization_create
from stocktrace.tenancy.actor import Actor
from stocktrace.webhooks.services import source_create
admin = User.objects.create_user(email="b@bench.test", password="x")
org = organization_create(name="Bench", slug="bench", admin=admin)
source = source_create(actor=Actor.system(org), name="ERP", handler="site.upsert", rate_limit_per_minute=100000)
print("SECRET=" + source.secret)
"""], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    secret = setup.stdout.split("SECRET=")[1].strip()

    port = free_port()
    server = subprocess.Popen([*stocktrace, "serve", "--port", str(port), "--workers", str(args.server_workers),
                               "--threads", str(args.server_threads)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The floor: the same push handled by a bare WSGI app with psycopg (bench/_raw_wsgi.py), PostgreSQL only.
    bare_port = free_port()
    bare = start_raw_server(bare_port, env["DATABASE_URL"], workers=args.server_workers,
                            threads=args.server_threads) \
        if args.database == "postgres" else None
    try:
        for each_port in (port, bare_port) if bare else (port,):
            wait_until_up(each_port)
        _, _, warm_health_refused = drive(port, "/healthz", "GET", secret, 2, args.clients)  # warm-up
        _, warm_ok, warm_refused = drive(port, "/hooks/bench/erp", "POST", secret, 2, args.clients)
        bare_warm_ok, bare_warm_refused = 0, {}
        if bare:
            _, bare_warm_ok, bare_warm_refused = drive(bare_port, "/hooks/bench/erp", "POST", secret, 2, args.clients,
                                                       BARE_PREFIX)
        rounds, bare_rounds = [], []
        for _ in range(args.rounds):  # alternating phases, so drift on a shared machine hits every side
            rounds.append((drive(port, "/healthz", "GET", secret, args.seconds, args.clients),
                           drive(port, "/hooks/bench/erp", "POST", secret, args.seconds, args.clients)))
            if bare:
                bare_rounds.append(drive(bare_port, "/hooks/bench/erp", "POST", secret, args.seconds, args.clients,
                                         BARE_PREFIX))
    finally:
        for process in (server, bare):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    count = subprocess.run([*stocktrace, "shell", "-c",
                            "from stocktrace.webhooks.models import InboundDelivery as D; "
                            f"print(D.objects.exclude(delivery_id__startswith={BARE_PREFIX!r}).count())"],
                           cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()[-1]
    stored = int(count)
    bare_stored = stored_bare(env["DATABASE_URL"]) if bare_rounds else None
    drop_database(args.database, data_dir)
    hooks_ok = sum(k[1] for _, k in rounds)
    health_refused = merged(warm_health_refused, *(h[2] for h, _ in rounds))
    hooks_refused = merged(warm_refused, *(k[2] for _, k in rounds))
    bare_refused = merged(bare_warm_refused, *(b[2] for b in bare_rounds))
    print(f"database: {args.database}, server: granian WSGI {args.server_workers} processes x "
          f"{args.server_threads} threads, clients: {args.clients} "
          f"(2 processes), {args.rounds} rounds of {args.seconds:.0f} s per endpoint, alternating, loopback")
    print(f"{'round':>5}{'GET /healthz req/s':>20}{'POST /hooks req/s':>19}{'ratio':>8}"
          + (f"{'bare WSGI push req/s':>22}{'bare / healthz':>16}{'hooks / bare':>14}" if bare_rounds else ""))
    ratios, bare_ratios, of_bare = [], [], []
    for number, (health, hooks) in enumerate(rounds, 1):
        ratios.append(hooks[0] / health[0])
        line = f"{number:>5}{health[0]:>20.0f}{hooks[0]:>19.0f}{ratios[-1]:>8.0%}"
        if bare_rounds:
            pushes = bare_rounds[number - 1][0]
            bare_ratios.append(pushes / health[0])
            of_bare.append(hooks[0] / pushes)
            line += f"{pushes:>22.0f}{bare_ratios[-1]:>16.0%}{of_bare[-1]:>14.0%}"
        print(line)
    median = statistics.median(ratios)
    print(f"median ratio webhooks / healthz: {median:.0%} (goal >= 40%: {'met' if median >= 0.4 else 'NOT met'}); "
          "only 202 counts as an accepted push, only 200 as a healthz answer")

    def refusals(by_status: dict) -> str:
        return (f"{sum(by_status.values())} ("
                + ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items())) + ")") if by_status else "0"

    print(f"refused or failed, warm-up included: pushes {refusals(hooks_refused)}, healthz {refusals(health_refused)}"
          + (f", bare WSGI pushes {refusals(bare_refused)}" if bare_rounds else ""))
    if bare_rounds:
        print(f"median ratio bare WSGI push / stocktrace healthz: {statistics.median(bare_ratios):.0%}; "
              f"stocktrace push / bare WSGI push: {statistics.median(of_bare):.0%}")
    accepted = hooks_ok + warm_ok
    problems = []
    if stored != accepted:
        problems.append(f"LOST PAYLOADS: {stored} stored of {accepted} accepted")
    bare_accepted = sum(b[1] for b in bare_rounds) + bare_warm_ok
    print(f"payloads stored: {stored} of {accepted} accepted ({warm_ok} of them in the warm-up) -> "
          f"{'OK' if stored == accepted else 'LOST PAYLOADS'}"
          + (f"; bare WSGI: {bare_stored} of {bare_accepted}" if bare_rounds else ""))
    if bare_rounds and bare_stored != bare_accepted:
        problems.append(f"bare WSGI: {bare_stored} stored of {bare_accepted} accepted")
    if hooks_refused or health_refused or bare_refused:
        problems.append("REFUSALS: some requests were not accepted (see above); the rates count accepted ones only, "
                        "but a run with refusals does not measure intake")
    for problem in problems:
        print(f"FLAGGED: {problem}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
