"""Latency of GET /api/v1/lookup/<barcode> against the bare GET /healthz, through the production server.

    .venv/bin/python bench/barcode_lookup.py [--items 100000] [--requests 2000] [--seconds 5] [--clients 8]
    .venv/bin/python bench/barcode_lookup.py --profile [--items 100000]   # in-process: queries and cProfile

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth; loopback only):

1. Drops and creates the database `st_bench_barcode` (psycopg on `postgres`), migrates it in-process.
2. An organization with its admin and the admin's API token (`token_create`), then N items with one valid
   EAN-13 each (check digit by `gs1_check_digit`), bulk-inserted with the ORM's bulk_create, then
   VACUUM ANALYZE (as autovacuum would do after such a load).
3. Starts `stocktrace serve --workers 2 --threads 4` (granian, WSGI) on a free loopback port.
4. Sequential: one client, one persistent connection (http.client), a warm-up of 200 requests each, then
   `--requests` of each, in alternating blocks of 250 (healthz, lookup, healthz, ...) so drift on a noisy
   machine hits both. Each request is timed from send to the last byte of the body; every lookup must answer
   200 with the item the barcode belongs to (checked after the clock stops).
   The raw baseline runs in the same rotation: the same answer as plain SQL through psycopg (token row with its
   membership, user and organization; the item with its barcodes by organization and code), no HTTP. So does
   the floor: /healthz and the same lookup served by a bare WSGI app with psycopg and no framework
   (bench/_raw_wsgi.py) under the same granian settings.
5. Concurrent: `--clients` connections (2 processes x clients/2 threads), `--seconds` per endpoint: stocktrace's
   /healthz and lookup, then the bare floor's. Every answer is checked (status 200, and the body: healthz's own,
   or the item the barcode belongs to); only right answers count, and any wrong or failed answer, in either
   phase, fails the run (non-zero exit, the first wrong answers printed).
6. Queries per lookup in-process (django.test.Client through the whole middleware, CaptureQueriesContext).

Not part of the test suite. Drops the database at the end (`--keep` keeps it).
"""

import argparse
import http.client
import json
import multiprocessing
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from _common import (  # noqa: E402
    ROOT,
    bench_db,
    create_database,
    db_url,
    django_env,
    drop_database,
    machine,
    percentile,
    setup_django,
    start_raw_server,
)
from _raw_wsgi import ITEM_SQL  # noqa: E402

from stocktrace.inventory.barcodes import scan_key  # noqa: E402

DB_NAME = bench_db("barcode")
WARMUP = 200
BLOCK = 250

# The raw baseline: the same answer (token check, then the item with its barcodes) as plain SQL through psycopg
# on one persistent connection, no HTTP: the database floor under the lookup.
RAW_TOKEN = """
    SELECT t.secret_hash, t.expires_at, t.revoked_at, m.organization_id, m.role, m.is_active, u.is_active, o.is_active
    FROM accounts_apitoken t JOIN tenancy_membership m ON m.id = t.membership_id
    JOIN accounts_user u ON u.id = m.user_id JOIN tenancy_organization o ON o.id = m.organization_id
    WHERE t.prefix = %s"""
RAW_ITEM = ITEM_SQL  # the item with its barcodes, as the bare WSGI floor sends it


def ean13(i: int) -> str:
    from stocktrace.inventory.barcodes import gs1_check_digit

    body = f"200{i:09d}"  # GS1 prefix 200-299: in-store numbers, never a real product's
    return body + str(gs1_check_digit(body))


def build(n_items: int) -> tuple[str, int]:
    """The organization, its admin's token (plaintext) and the items; returns (token, organization id)."""
    from django.db import connection, transaction

    from stocktrace.accounts.models import User
    from stocktrace.accounts.services import organization_create, token_create
    from stocktrace.inventory.models import Item, ItemBarcode
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.models import Membership

    admin = User.objects.create_user(email="scanner@bench.test", password=None)
    org = organization_create(name="Bench", slug="bench", admin=admin)
    membership = Membership.objects.select_related("user", "organization").get(organization=org, user=admin)
    _, token = token_create(actor=Actor(organization=org, membership=membership), name="bench scanner")
    batch = 5000
    with transaction.atomic():
        for start in range(0, n_items, batch):
            items = Item.objects.bulk_create([
                Item(organization=org, sku=f"SKU{i:06d}", name=f"Bench item {i}", unit_cost="1.2500")
                for i in range(start, min(n_items, start + batch))])
            ItemBarcode.objects.bulk_create([
                ItemBarcode(organization=org, item=item, code=ean13(start + k), kind=ItemBarcode.Kind.EAN13)
                for k, item in enumerate(items)])
    connection.close()
    with psycopg.connect(db_url(DB_NAME), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return token, org.pk


HEALTHZ_BODY = {"stocktrace": b'{"status": "ok"}', "bare": b"ok"}


def lookup_problem(status: int, body: bytes, i: int) -> str | None:
    """None when the answer is right: 200, and the item of barcode `ean13(i)` (its SKU, the code among its
    barcodes). Otherwise what is wrong: a fast wrong answer must not count."""
    if status != 200:
        return f"item {i}: status {status} {body[:120]!r}"
    try:
        item = json.loads(body)["item"]
        sku, codes = item["sku"], item["barcodes"]
    except (ValueError, KeyError, TypeError) as error:
        return f"item {i}: unreadable answer ({error!r}) {body[:120]!r}"
    if sku != f"SKU{i:06d}" or ean13(i) not in codes:
        return f"item {i}: wrong item {sku!r} {codes!r} for {ean13(i)}"
    return None


def healthz_problem(status: int, body: bytes, server: str) -> str | None:
    if status != 200 or body.strip() != HEALTHZ_BODY[server]:
        return f"{server} /healthz: status {status} {body[:120]!r}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"stocktrace serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("stocktrace serve did not answer /healthz within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


# ------------------------------------------------------------------------------------------ sequential

def sequential(port: int, raw_port: int, token: str, n_items: int, n: int, seed: int) -> dict:
    import hashlib

    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    bare = http.client.HTTPConnection("127.0.0.1", raw_port, timeout=30)
    raw = psycopg.connect(db_url(DB_NAME), autocommit=True)
    headers = {"Authorization": f"Bearer {token}"}
    prefix, _, secret = token[3:].partition("_")
    clock = time.perf_counter
    latencies = {"healthz": [], "lookup": [], "raw": [], "bare_healthz": [], "bare_lookup": []}
    wrong: list[str] = []

    def one(path: str, hdrs: dict, server: http.client.HTTPConnection = conn) -> tuple[float, int, bytes]:
        t = clock()
        server.request("GET", path, headers=hdrs)
        response = server.getresponse()
        body = response.read()
        return clock() - t, response.status, body

    def healthz_block(count: int, record: bool, server=conn, side="healthz") -> None:
        for _ in range(count):
            elapsed, status, body = one("/healthz", {}, server)
            problem = healthz_problem(status, body, "bare" if side.startswith("bare") else "stocktrace")
            if problem:
                wrong.append(f"{side}: {problem}")
            if record:
                latencies[side].append(elapsed)

    def lookup_block(count: int, record: bool, server=conn, side="lookup", base="/api/v1/lookup/") -> None:
        for _ in range(count):
            i = rng.randrange(n_items)
            elapsed, status, body = one(f"{base}{ean13(i)}", headers, server)
            problem = lookup_problem(status, body, i)
            if problem:
                wrong.append(f"{side}: {problem}")
            if record:
                latencies[side].append(elapsed)

    def bare_healthz_block(count: int, record: bool) -> None:
        healthz_block(count, record, bare, "bare_healthz")

    def bare_lookup_block(count: int, record: bool) -> None:
        lookup_block(count, record, bare, "bare_lookup", "/lookup/")

    def raw_block(count: int, record: bool) -> None:
        for _ in range(count):
            i = rng.randrange(n_items)
            t = clock()
            row = raw.execute(RAW_TOKEN, (prefix,)).fetchone()
            ok = (row is not None and row[0] == hashlib.sha256(secret.encode()).hexdigest() and row[2] is None
                  and all(row[5:]))
            item = raw.execute(RAW_ITEM, (row[3], scan_key(ean13(i)))).fetchone() if ok else None
            elapsed = clock() - t
            if item is None or item[1] != f"SKU{i:06d}" or ean13(i) not in item[-1]:
                wrong.append(f"raw lookup of item {i} -> token ok {ok}, {item!r}")
            if record:
                latencies["raw"].append(elapsed)

    order = [healthz_block, lookup_block, raw_block, bare_healthz_block, bare_lookup_block]
    for block in order:
        block(WARMUP, False)
    done = 0
    while done < n:
        count = min(BLOCK, n - done)
        for block in order:
            block(count, True)
        order = order[1:] + order[:1]  # rotate, so no side always runs first
        done += count
    conn.close()
    bare.close()
    raw.close()
    stats = {}
    for name, values in latencies.items():
        values.sort()
        stats[name] = {p: percentile(values, p) * 1e3 for p in (50, 95, 99)}
        stats[name]["mean"] = sum(values) / len(values) * 1e3
    return {"stats": stats, "wrong": wrong}


# ------------------------------------------------------------------------------------------ concurrent

def client_process(port, token, n_items, seconds, threads, seed, path_kind, server, start_at, out):
    """`threads` clients on one port for `seconds`; every answer is checked (status and body: the right item for
    the barcode asked, or healthz's own body) and only right answers count."""
    def run(slot):
        rng = random.Random(seed * 100 + slot)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"} if path_kind == "lookup" else {}
        base = "/api/v1/lookup/" if server == "stocktrace" else "/lookup/"
        ok, wrong = 0, []
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = start_at + seconds
        while time.time() < deadline:
            i = rng.randrange(n_items)
            try:
                conn.request("GET", f"{base}{ean13(i)}" if path_kind == "lookup" else "/healthz", headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                wrong.append(f"{server} {path_kind}: {error!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            problem = (lookup_problem(response.status, body, i) if path_kind == "lookup"
                       else healthz_problem(response.status, body, server))
            if problem:
                wrong.append(f"{server} {path_kind}: {problem}")
            else:
                ok += 1
        conn.close()
        out.put((ok, len(wrong), wrong[:3]))

    sys.path.insert(0, str(ROOT))  # ean13 imports stocktrace.inventory.barcodes (no Django set-up needed)
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def concurrent(port, token, n_items, seconds, clients, path_kind, server="stocktrace") -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 2.0  # every thread connected and waiting before the clock starts
    procs = [ctx.Process(target=client_process, args=(port, token, n_items, seconds, clients // 2, 7 + k, path_kind,
                                                      server, start_at, out)) for k in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in range(2 * (clients // 2))]
    for p in procs:
        p.join()
    ok, wrong = sum(r[0] for r in results), sum(r[1] for r in results)
    return {"rps": ok / seconds, "ok": ok, "failed": wrong, "samples": [m for r in results for m in r[2]][:5]}


# ------------------------------------------------------------------------------------------ in-process

def in_process(token: str, organization_id: int, n_items: int, profile_requests: int = 0) -> dict:
    """Queries per request through the whole Django stack (test client, no server), and optionally a cProfile."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    rng = random.Random(99)
    for _ in range(50):
        client.get(f"/api/v1/lookup/{ean13(rng.randrange(n_items))}")
        client.get("/healthz")
    queries = {}
    for name, path in (("healthz", "/healthz"), ("lookup", f"/api/v1/lookup/{ean13(rng.randrange(n_items))}")):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        queries[name] = [q["sql"] for q in captured.captured_queries]
    result = {"queries": queries}
    if profile_requests:
        import cProfile
        import pstats

        clock = time.perf_counter
        for name, make_path in (("healthz", lambda: "/healthz"),
                                ("lookup", lambda: f"/api/v1/lookup/{ean13(rng.randrange(n_items))}")):
            paths = [make_path() for _ in range(profile_requests)]
            began = clock()
            for path in paths:
                client.get(path)
            result[f"{name}_us"] = (clock() - began) / profile_requests * 1e6
        spent = [0.0]

        def timed(execute, sql, params, many, context):
            t = clock()
            try:
                return execute(sql, params, many, context)
            finally:
                spent[0] += clock() - t

        paths = [f"/api/v1/lookup/{ean13(rng.randrange(n_items))}" for _ in range(profile_requests)]
        with connection.execute_wrapper(timed):
            for path in paths:
                client.get(path)
        result["lookup_sql_us"] = spent[0] / profile_requests * 1e6
        profiler = cProfile.Profile()
        profiler.enable()
        for path in paths:
            client.get(path)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        print(f"\ncProfile over {profile_requests} lookups through django.test.Client, by own time:")
        stats.sort_stats("tottime").print_stats(25)
        print("by cumulative time:")
        stats.sort_stats("cumulative").print_stats(45)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + RAW_ITEM, [organization_id, scan_key(ean13(rng.randrange(n_items)))])
            result["plan"] = [row[0] for row in cursor.fetchall()]
    connection.close()
    return result


# ----------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests per endpoint")
    parser.add_argument("--seconds", type=float, default=5, help="per endpoint in the concurrent phase")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="in-process only: queries, timings, cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    started = time.perf_counter()
    create_database(DB_NAME)
    server = bare = None
    try:
        setup_django(DB_NAME, migrate=True)
        token, organization_id = build(args.items)
        setup_s = time.perf_counter() - started

        if args.profile:
            result = in_process(token, organization_id, args.items, profile_requests=2000)
            for name, sqls in result["queries"].items():
                print(f"{name}: {len(sqls)} queries")
                for sql in sqls:
                    print(f"    {sql[:200]}")
            print(f"in-process (test client, no server): healthz {result['healthz_us']:.0f} us/request, "
                  f"lookup {result['lookup_us']:.0f} us/request, of which {result['lookup_sql_us']:.0f} us "
                  f"inside cursor.execute")
            print("plan of the item query:")
            for line in result["plan"]:
                print(f"    {line}")
            return

        port = free_port()
        cmd = [sys.executable, "-m", "stocktrace.cli", "serve", "--port", str(port), "--workers", "2",
               "--threads", "4"]
        server = subprocess.Popen(cmd, cwd=ROOT, env=django_env(DB_NAME), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        wait_until_up(port, server)
        raw_port = free_port()
        bare = start_raw_server(raw_port, db_url(DB_NAME))
        wait_until_up(raw_port, bare)
        seq = sequential(port, raw_port, token, args.items, args.requests, args.seed)
        conc = {(server_name, kind): concurrent(server_port, token, args.items, args.seconds, args.clients, kind,
                                                server_name)
                for server_name, server_port in (("stocktrace", port), ("bare", raw_port))
                for kind in ("healthz", "lookup")}
        stop(bare)
        bare = None
        server.terminate()
        server.wait(timeout=30)
        server = None
        inproc = in_process(token, organization_id, args.items)
        total_s = time.perf_counter() - started

        h, lk = seq["stats"]["healthz"], seq["stats"]["lookup"]
        print(f"\nmachine: {machine()}")
        print(f"{args.items} items with one EAN-13 each; server: stocktrace serve (granian WSGI) 2 workers x 4 "
              f"threads on loopback; set-up {setup_s:.0f} s, whole run {total_s:.0f} s")
        print()
        print(f"sequential, 1 client, persistent connection, {args.requests} requests each after {WARMUP} warm-up:")
        raw_s = seq["stats"]["raw"]
        print("| ms                                        |    p50 |    p95 |    p99 |   mean |")
        print("|-------------------------------------------|-------:|-------:|-------:|-------:|")
        bare_h, bare_lk = seq["stats"]["bare_healthz"], seq["stats"]["bare_lookup"]
        for label, s in (("GET /healthz", h), ("GET /api/v1/lookup/<EAN-13>", lk),
                         ("raw psycopg, same answer, no HTTP", raw_s),
                         ("bare WSGI (no framework): GET /healthz", bare_h),
                         ("bare WSGI (no framework): lookup", bare_lk)):
            print(f"| {label:<41} | {s[50]:6.2f} | {s[95]:6.2f} | {s[99]:6.2f} | {s['mean']:6.2f} |")
        ratio = lk[50] / h[50]
        print(f"| {'ratio lookup / healthz':<41} | {ratio:5.2f}x | {lk[95] / h[95]:5.2f}x | {lk[99] / h[99]:5.2f}x | "
              f"{lk['mean'] / h['mean']:5.2f}x |")
        floor = {p: h[p] + raw_s[p] for p in (50, 95, 99, "mean")}
        print(f"| {'ratio lookup / (healthz + raw SQL)':<41} | {lk[50] / floor[50]:5.2f}x | "
              f"{lk[95] / floor[95]:5.2f}x | {lk[99] / floor[99]:5.2f}x | {lk['mean'] / floor['mean']:5.2f}x |")
        print(f"| {'ratio bare WSGI lookup / healthz':<41} | {bare_lk[50] / h[50]:5.2f}x | "
              f"{bare_lk[95] / h[95]:5.2f}x | {bare_lk[99] / h[99]:5.2f}x | {bare_lk['mean'] / h['mean']:5.2f}x |")
        print(f"| {'ratio lookup / bare WSGI lookup':<41} | {lk[50] / bare_lk[50]:5.2f}x | "
              f"{lk[95] / bare_lk[95]:5.2f}x | {lk[99] / bare_lk[99]:5.2f}x | {lk['mean'] / bare_lk['mean']:5.2f}x |")
        print(f"p50 goal: lookup within 1.5x of healthz -> {'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f}x)")
        print()
        print(f"concurrent, {args.clients} clients (2 processes x {args.clients // 2} threads, persistent "
              f"connections), {args.seconds:.0f} s each:")
        print("every answer checked: status 200 and the body (healthz's own; a lookup: the item of the barcode "
              "asked); only right answers count in req/s")
        print("| endpoint                                  |  req/s | right answers | wrong or failed |")
        print("|-------------------------------------------|-------:|--------------:|----------------:|")
        for label, key in (("GET /healthz", ("stocktrace", "healthz")),
                           ("GET /api/v1/lookup/<EAN-13>", ("stocktrace", "lookup")),
                           ("bare WSGI (no framework): GET /healthz", ("bare", "healthz")),
                           ("bare WSGI (no framework): lookup", ("bare", "lookup"))):
            c = conc[key]
            print(f"| {label:<41} | {c['rps']:6.0f} | {c['ok']:13d} | {c['failed']:15d} |")
        st_h, st_l = conc[("stocktrace", "healthz")]["rps"], conc[("stocktrace", "lookup")]["rps"]
        bare_h, bare_l = conc[("bare", "healthz")]["rps"], conc[("bare", "lookup")]["rps"]
        print(f"ratio lookup / healthz: {st_l / st_h:.0%}; bare lookup / stocktrace healthz: {bare_l / st_h:.0%}; "
              f"stocktrace lookup / bare lookup: {st_l / bare_l:.0%}")
        print()
        for name, sqls in inproc["queries"].items():
            print(f"queries per {name} request (in-process, CaptureQueriesContext): {len(sqls)}")
            for sql in sqls:
                print(f"    {sql[:170]}")
        conc_wrong = sum(c["failed"] for c in conc.values())
        print(f"correctness: {len(seq['wrong'])} wrong answers in the sequential phase (stocktrace, raw psycopg, bare "
              f"WSGI), {conc_wrong} in the concurrent phase"
              + ("" if seq["wrong"] or conc_wrong else " (every answer checked: every lookup returned its own item)"))
        if seq["wrong"] or conc_wrong:
            for message in seq["wrong"][:5] + [m for c in conc.values() for m in c["samples"]][:5]:
                print(f"  WRONG: {message}")
            sys.exit(f"FAILED: {len(seq['wrong']) + conc_wrong} wrong or failed answers; the timings above do not "
                     "count")
    finally:
        for process in (server, bare):
            if process is not None:
                stop(process)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)


if __name__ == "__main__":
    main()
