"""Counts' hot paths against their raw baselines in the same run, on PostgreSQL: batch sync, single scans, completion.

    .venv/bin/python bench/counts.py                       # full sizes (see below)
    .venv/bin/python bench/counts.py --quick               # small sizes, about 75 s
    .venv/bin/python bench/counts.py --only sync scans     # any of: sync scans complete
    (STOCKTRACE_BENCH_QUICK=1 is the same as --quick)

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth; loopback only):

1. Drops and creates `st_bench_counts`, migrates it in-process. Through the services: an organization, its admin
   and the admin's API token, a scanning site with a running cycle count whose areas are all held by the admin
   (each client of the scan benchmark scans into its own area, so no two queue on one area lock); items with one
   EAN-13 each (bulk_create, as bench/barcode_lookup.py).
2. sync: POST /api/v1/count-sync through `stocktrace serve --workers 2 --threads 4`, requests of --sync-size scans
   (default 1,000) spread over 10 held areas, codes drawn from every item, 10% of each request's uuids sent in
   an earlier request (so answered `duplicate`). Every answer is checked: each new uuid `accepted`, each old one
   `duplicate`. Raw side, alternating request by request with it: psycopg on one connection, BEGIN, one
   `INSERT INTO counts_countscan (...) SELECT ... FROM unnest(...) JOIN counts_countarea LEFT JOIN
   inventory_itembarcode (the code's item by its scan key) ON CONFLICT DO NOTHING RETURNING uuid`, COMMIT, on 10
   other areas of the same count, with the same 10% of old uuids. Scans/s counts every scan sent, duplicates
   too. Goal: stocktrace >= 50% of raw.
3. scans: --clients (50) concurrent clients (2 processes x 25 threads, persistent connections), each POSTing
   single scans into its own held area for --seconds, against stocktrace and then against the bare WSGI floor
   (bench/_raw_wsgi.py: the same token check, the area locked and checked, the item by scan key, the idempotent
   insert, the area marked counting; no framework) under the same granian settings, in alternating rounds.
   Only 201 `accepted` counts; anything else is an error. Goals: >= 65% of the floor's req/s, p99 <= 2x the
   floor's, zero errors.
4. complete: two sites built alike (areas x bins x items count lines; on-hand with opening receipts in the
   ledger, written in set-based SQL as an import would; the snapshot by `session_start`; one scan per line in
   set-based SQL with 10% of lines counted 1 short, 5% 2 over; every area approved). Each side runs in its own
   fresh process (so its peak RSS is its own): stocktrace's `session_complete`, and the raw side: one
   transaction of set-based statements doing the same posting (lines computed in SQL, on-hand rows locked in key
   order, correction movements, on-hand set to the count, an audit row per correction, a discrepancy alert per
   correction, the frozen report, the session completed, its areas closed, the count.complete audit row).
   Goal: stocktrace <= 3x raw's seconds. Checks: both sites end with on-hand = counted, the same corrections,
   the same report lines, ledger_drift() empty.

Full sizes: sync 1 warm-up + 20 requests of 1,000 per side; scans 50 clients x 10 s x 2 rounds per side (about
2 minutes for both on the 2-vCPU VM); completion 50 areas x 4 bins x 500 items = 100,000 lines (about 7.5 minutes,
most of it stocktrace's side). --quick: sync 1 + 5 requests; scans 50 clients x 4 s x
1 round; completion 10 areas x 2 bins x 250 items = 5,000 lines. Not part of the test suite (pytest collects
only `stocktrace/` and `tests/`). Drops the database at the end (`--keep` keeps it).
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
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

DB_NAME = bench_db("counts")
N_ITEMS = 2000
SYNC_AREAS = 10
SYNC_DUPLICATES = 0.10
GOALS = {"sync": 0.50, "scans_rps": 0.65, "scans_p99": 2.0, "complete": 3.0}


def ean13(i: int) -> str:
    from stocktrace.inventory.barcodes import gs1_check_digit

    body = f"210{i:09d}"
    return body + str(gs1_check_digit(body))


# ------------------------------------------------------------------------------------------------ set-up

def build_base(n_areas: int) -> dict:
    """The organization, the admin's token, N_ITEMS items with a barcode each, and a running count of site SCAN
    with `n_areas` areas, all held by the admin."""
    from django.db import transaction

    from stocktrace.accounts.models import User
    from stocktrace.accounts.services import organization_create, site_create, token_create
    from stocktrace.counts.services import areas as area_services
    from stocktrace.counts.services import sessions as session_services
    from stocktrace.inventory.models import Item, ItemBarcode
    from stocktrace.inventory.services.catalog import location_create
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.models import Membership

    admin = User.objects.create_user(email="counter@bench.test", password=None)
    org = organization_create(name="Bench", slug="bench", admin=admin)
    membership = Membership.objects.select_related("user", "organization").get(organization=org, user=admin)
    actor = Actor(organization=org, membership=membership)
    _, token = token_create(actor=actor, name="bench scanner")
    with transaction.atomic():
        items = Item.objects.bulk_create([Item(organization=org, sku=f"SKU{i:06d}", name=f"Bench item {i}",
                                               unit_cost="1.2500") for i in range(N_ITEMS)])
        ItemBarcode.objects.bulk_create([ItemBarcode(organization=org, item=item, code=ean13(i),
                                                     kind=ItemBarcode.Kind.EAN13) for i, item in enumerate(items)])
    site = site_create(actor=actor, code="SCAN", name="Scanning site")
    locations = [location_create(actor=actor, site=site, code=f"A{i:03d}") for i in range(n_areas)]
    session = session_services.session_plan(actor=actor, site=site, name="Bench scans", kind="cycle")
    areas = session_services.areas_add(actor=actor, session=session, locations=locations)
    session_services.session_start(actor=actor, session=session)
    areas = [area_services.area_assign(actor=actor, area=area, holder=membership) for area in areas]
    return {"token": token, "org": org.pk, "membership": membership.pk, "user": admin.pk, "session": session.pk,
            "areas": [a.pk for a in areas]}


def build_completion(base: dict, code: str, n_areas: int, bins: int, items: int) -> dict:
    """A site `code` with n_areas areas of `bins` bins each, `items` items on hand in every bin (10 each, with the
    opening receipts in the ledger), a running count of it with one scan per line, every area approved."""
    from django.db import connection

    from stocktrace.counts.services import sessions as session_services
    from stocktrace.inventory.models import Location
    from stocktrace.inventory.services.catalog import location_create
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.models import Membership, Site

    membership = Membership.objects.select_related("user", "organization").get(pk=base["membership"])
    actor = Actor(organization=membership.organization, membership=membership)
    from stocktrace.accounts.services import site_create

    site = site_create(actor=actor, code=code, name=f"Site {code}")
    area_locations = []
    for a in range(n_areas):
        rack = location_create(actor=actor, site=site, code=f"{code}-R{a:03d}", kind=Location.Kind.RACK)
        for b in range(bins):
            location_create(actor=actor, site=site, code=f"{code}-R{a:03d}-B{b}", parent=rack)
        area_locations.append(rack)
    org, user = base["org"], base["user"]
    with connection.cursor() as cursor:
        # on hand: 10 of each of the first `items` items in every bin, with its opening receipt
        cursor.execute("""
            WITH bins AS (SELECT id, site_id FROM inventory_location WHERE site_id = %s AND parent_id IS NOT NULL),
                 its AS (SELECT id, unit_cost FROM inventory_item WHERE organization_id = %s ORDER BY id LIMIT %s),
                 moved AS (
                     INSERT INTO inventory_stockmovement (organization_id, item_id, location_id, site_id, lot, kind,
                         quantity, unit_cost, reason, reference, created_at)
                     SELECT %s, its.id, bins.id, bins.site_id, '', 'receipt', 10, its.unit_cost, '', 'bench opening',
                            now() FROM bins CROSS JOIN its RETURNING 1)
            INSERT INTO inventory_onhand (organization_id, item_id, location_id, site_id, lot, quantity, updated_at)
            SELECT %s, its.id, bins.id, bins.site_id, '', 10, now() FROM bins CROSS JOIN its""",
                       [site.pk, org, items, org, org])
    session = session_services.session_plan(actor=actor, site=Site.objects.get(pk=site.pk), name=f"Count {code}",
                                            kind="cycle")
    session_services.areas_add(actor=actor, session=session, locations=area_locations)
    session_services.session_start(actor=actor, session=session)
    with connection.cursor() as cursor:
        # one scan per line: 10% of lines counted 1 short, 5% 2 over, the rest as expected
        cursor.execute("""
            INSERT INTO counts_countscan (organization_id, uuid, session_id, area_id, round, kind, code, item_id,
                location_id, lot, quantity, counter_id, device_id, scanned_at, received_at)
            SELECT e.organization_id, gen_random_uuid(), e.session_id, e.area_id, 1, 'scan', i.sku, e.item_id,
                   e.location_id, e.lot,
                   e.quantity + CASE WHEN e.id %% 20 IN (0, 1) THEN -1 WHEN e.id %% 20 = 2 THEN 2
                                     WHEN e.id %% 20 IN (3, 4) THEN -1 ELSE 0 END,
                   %s, 'bench', now(), now()
            FROM counts_countexpected e JOIN inventory_item i ON i.id = e.item_id WHERE e.session_id = %s""",
                       [base["membership"], session.pk])
        cursor.execute("UPDATE counts_countarea SET status = 'approved', approved_by_id = %s, approved_at = now(), "
                       "changed_at = now() WHERE session_id = %s", [user, session.pk])
        cursor.execute("SELECT count(*) FROM counts_countexpected WHERE session_id = %s", [session.pk])
        lines = cursor.fetchone()[0]
    return {"session": session.pk, "site": site.pk, "lines": lines}


# ------------------------------------------------------------------------------------------------ helpers

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"the server on port {port} exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"nothing answered /healthz on port {port} within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


# ------------------------------------------------------------------------------------------------ 1. sync

RAW_SYNC = """
    INSERT INTO counts_countscan (organization_id, uuid, session_id, area_id, round, kind, undoes_id, code, item_id,
                                  location_id, lot, quantity, counter_id, device_id, scanned_at, received_at, batch)
    SELECT %(org)s, u.uuid, a.session_id, a.id, a.round, 'scan', NULL, u.code, b.item_id, a.location_id, '', u.qty,
           %(counter)s, %(device)s, now(), now(), %(batch)s
    FROM unnest(%(uuids)s::uuid[], %(areas)s::bigint[], %(codes)s::text[], %(keys)s::text[], %(qtys)s::numeric[])
         AS u(uuid, area_id, code, key, qty)
    JOIN counts_countarea a ON a.id = u.area_id AND a.organization_id = %(org)s
    LEFT JOIN inventory_itembarcode b ON b.organization_id = %(org)s AND b.scan_key = u.key
    ON CONFLICT ON CONSTRAINT uniq_count_scan_uuid DO NOTHING
    RETURNING uuid"""


class SyncSide:
    """One side's requests: each of `size` scans into its areas, 10% of uuids from its earlier requests."""

    def __init__(self, areas: list[int], size: int, seed: int) -> None:
        self.areas, self.size, self.rng = areas, size, random.Random(seed)
        self.sent: list[str] = []

    def request(self, first: bool) -> tuple[list[dict], set[str]]:
        old = [] if first else self.rng.sample(self.sent, int(self.size * SYNC_DUPLICATES))
        new = [str(uuid.uuid4()) for _ in range(self.size - len(old))]
        scans = [{"uuid": u, "area_id": self.rng.choice(self.areas), "code": ean13(self.rng.randrange(N_ITEMS)),
                  "quantity": str(self.rng.randint(1, 3))} for u in new + old]
        self.rng.shuffle(scans)
        self.sent += new
        return scans, set(old)


def bench_sync(base: dict, port: int, requests: int, size: int) -> dict:
    from stocktrace.inventory.barcodes import scan_key

    st_side = SyncSide(base["areas"][:SYNC_AREAS], size, 1)
    raw_side = SyncSide(base["areas"][SYNC_AREAS:2 * SYNC_AREAS], size, 2)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Bearer {base['token']}", "Content-Type": "application/json"}
    raw = psycopg.connect(db_url(DB_NAME), autocommit=True)
    times = {"stocktrace": [], "raw": []}
    wrong: list[str] = []

    def st_one(first: bool) -> float:
        scans, old = st_side.request(first)
        body = json.dumps({"device_id": "bench-phone", "pending": 0, "scans": scans}).encode()
        t = time.perf_counter()
        conn.request("POST", "/api/v1/count-sync", body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - t
        if response.status != 200:
            wrong.append(f"stocktrace sync: status {response.status} {answer[:200]!r}")
            return elapsed
        results = json.loads(answer)["results"]
        for scan, result in zip(scans, results, strict=True):
            want = "duplicate" if scan["uuid"] in old else "accepted"
            if result["uuid"] != scan["uuid"] or result["outcome"] != want:
                wrong.append(f"stocktrace sync: {scan['uuid']} answered {result['outcome']}, expected {want}")
        return elapsed

    def raw_one(first: bool) -> float:
        scans, old = raw_side.request(first)
        t = time.perf_counter()
        with raw.transaction():
            inserted = {str(row[0]) for row in raw.execute(RAW_SYNC, {
                "org": base["org"], "counter": base["membership"], "device": "bench-raw", "batch": uuid.uuid4(),
                "uuids": [s["uuid"] for s in scans], "areas": [s["area_id"] for s in scans],
                "codes": [s["code"] for s in scans], "keys": [scan_key(s["code"]) for s in scans],
                "qtys": [Decimal(s["quantity"]) for s in scans]}).fetchall()}
        elapsed = time.perf_counter() - t
        expected_new = {s["uuid"] for s in scans} - old
        if inserted != expected_new:
            wrong.append(f"raw sync: inserted {len(inserted)}, expected {len(expected_new)}")
        return elapsed

    st_one(True)  # warm-up, untimed: the pool of old uuids for the duplicates
    raw_one(True)
    for n in range(requests):
        order = [("stocktrace", st_one), ("raw", raw_one)]
        for name, one in (order if n % 2 == 0 else order[::-1]):
            times[name].append(one(False))
    conn.close()
    raw.close()
    out = {"wrong": wrong, "requests": requests, "size": size}
    for name, values in times.items():
        out[name] = {"rate": size * len(values) / sum(values), "median_rate": size / statistics.median(values),
                     "median_ms": statistics.median(values) * 1e3}
    return out


# ------------------------------------------------------------------------------------------------ 2. scans

def scan_client_process(port, token, base_path, areas, seconds, start_at, seed, out):
    """One thread per area: single scans, each with a new uuid, until the deadline; (ok, latencies, errors)."""
    sys.path.insert(0, str(ROOT))

    def run(slot: int, area_id: int) -> None:
        rng = random.Random(seed * 1000 + slot)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        path = base_path.format(area_id)
        ok, latencies, errors = 0, [], []
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = start_at + seconds
        while time.time() < deadline:
            body = json.dumps({"uuid": str(uuid.uuid4()), "code": ean13(rng.randrange(N_ITEMS)), "quantity": "1",
                               "device_id": f"bench-{slot}"}).encode()
            t = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                errors.append(repr(error))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            latencies.append(time.perf_counter() - t)
            if response.status != 201 or json.loads(answer).get("outcome") != "accepted":
                errors.append(f"status {response.status} {answer[:150]!r}")
            else:
                ok += 1
        conn.close()
        out.put((ok, latencies, errors[:3], len(errors)))

    threads = [threading.Thread(target=run, args=(i, area)) for i, area in enumerate(areas)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def scan_round(port: int, token: str, base_path: str, areas: list[int], seconds: float) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3.0
    halves = [areas[: len(areas) // 2], areas[len(areas) // 2:]]
    procs = [ctx.Process(target=scan_client_process, args=(port, token, base_path, half, seconds, start_at, 11 + k,
                                                           out)) for k, half in enumerate(halves)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 180) for _ in range(len(areas))]
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[1])
    return {"ok": sum(r[0] for r in results), "errors": sum(r[3] for r in results),
            "samples": [m for r in results for m in r[2]][:5], "latencies": latencies, "seconds": seconds}


def bench_scans(base: dict, port: int, raw_port: int, clients: int, seconds: float, rounds: int) -> dict:
    st_areas = base["areas"][2 * SYNC_AREAS:2 * SYNC_AREAS + clients]
    bare_areas = base["areas"][2 * SYNC_AREAS + clients:2 * SYNC_AREAS + 2 * clients]
    sides = {"stocktrace": (port, "/api/v1/count-areas/{}/scans", st_areas),
             "bare": (raw_port, "/counts/areas/{}/scans", bare_areas)}
    runs = {name: [] for name in sides}
    for p, path, areas in sides.values():  # warm-up, untimed: every worker thread's first requests, connections
        scan_round(p, base["token"], path, areas, 2.0)
    for n in range(rounds):
        order = list(sides.items()) if n % 2 == 0 else list(sides.items())[::-1]
        for name, (p, path, areas) in order:
            runs[name].append(scan_round(p, base["token"], path, areas, seconds))
    out = {}
    for name, rs in runs.items():
        latencies = sorted(x for r in rs for x in r["latencies"])
        out[name] = {"rps": sum(r["ok"] for r in rs) / sum(r["seconds"] for r in rs),
                     "rounds": [r["ok"] / r["seconds"] for r in rs], "ok": sum(r["ok"] for r in rs),
                     "errors": sum(r["errors"] for r in rs), "samples": [m for r in rs for m in r["samples"]][:5],
                     "p50": percentile(latencies, 50) * 1e3, "p99": percentile(latencies, 99) * 1e3}
    return out


def queries_per_request(base: dict, size: int) -> dict:
    """Statements per single scan and per sync request of `size` scans (10% duplicates), through the whole
    Django stack in-process (django.test.Client, CaptureQueriesContext), into the last two held areas."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {base['token']}")
    area = base["areas"][-1]
    out = {}
    for n in range(3):  # the last one is counted (the area is counting by then, as in the timed runs)
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/api/v1/count-areas/{area}/scans", content_type="application/json",
                                   data={"uuid": str(uuid.uuid4()), "code": ean13(n), "quantity": "1"})
        assert response.status_code == 201, response.content[:300]
    out["scan"] = [q["sql"] for q in captured.captured_queries]
    side = SyncSide([base["areas"][-2]], size, 3)
    for first in (True, False):
        scans, _ = side.request(first)
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/count-sync", content_type="application/json",
                                   data={"device_id": "bench-inprocess", "scans": scans})
        assert response.status_code == 200, response.content[:300]
    out["sync"] = [q["sql"] for q in captured.captured_queries]
    out["sync_codes"] = len({s["code"] for s in scans})
    connection.close()
    return out


# ------------------------------------------------------------------------------------------------ 3. completion

RAW_LINES = """
CREATE TEMP TABLE lines ON COMMIT DROP AS
WITH exp AS (SELECT area_id, item_id, location_id, lot, quantity FROM counts_countexpected WHERE session_id = %(s)s),
cnt AS (
    SELECT s.area_id, coalesce(x.item_id, s.item_id) AS item_id, s.location_id, s.lot, sum(s.quantity) AS quantity
    FROM counts_countscan s JOIN counts_countarea a ON a.id = s.area_id AND s.round = a.round
    LEFT JOIN counts_countexception x ON x.scan_id = s.id
    WHERE s.session_id = %(s)s AND (x.id IS NULL OR x.status = 'mapped') AND coalesce(x.item_id, s.item_id) IS NOT NULL
    GROUP BY 1, 2, 3, 4),
keys AS (SELECT area_id, item_id, location_id, lot FROM exp UNION SELECT area_id, item_id, location_id, lot FROM cnt)
SELECT k.area_id, k.item_id, k.location_id, k.lot, coalesce(exp.quantity, 0) AS expected,
       coalesce(cnt.quantity, 0) AS counted, coalesce(oh.quantity, 0) AS on_hand,
       coalesce(cnt.quantity, 0) - coalesce(oh.quantity, 0) AS delta,
       i.unit_cost, i.sku, i.name, i.unit, l.code AS location_code, l.site_id, a.barcode, a.approved_at,
       u.email AS approved_by
FROM keys k
LEFT JOIN exp USING (area_id, item_id, location_id, lot)
LEFT JOIN cnt USING (area_id, item_id, location_id, lot)
LEFT JOIN inventory_onhand oh ON oh.item_id = k.item_id AND oh.location_id = k.location_id AND oh.lot = k.lot
JOIN inventory_item i ON i.id = k.item_id JOIN inventory_location l ON l.id = k.location_id
JOIN counts_countarea a ON a.id = k.area_id LEFT JOIN accounts_user u ON u.id = a.approved_by_id"""
RAW_LOCK = """
SELECT oh.id FROM inventory_onhand oh JOIN lines ON oh.item_id = lines.item_id AND oh.location_id = lines.location_id
    AND oh.lot = lines.lot WHERE lines.delta <> 0 ORDER BY oh.id FOR UPDATE OF oh"""
RAW_POST = """
WITH moved AS (
    INSERT INTO inventory_stockmovement (organization_id, item_id, location_id, site_id, lot, kind, quantity,
        unit_cost, reason, reference, actor_id, created_at)
    SELECT %(org)s, item_id, location_id, site_id, lot, 'count_correction', delta, unit_cost, 'count', %(ref)s,
           %(user)s, now() FROM lines WHERE delta <> 0
    RETURNING id, item_id, location_id, lot, quantity),
audited AS (
    INSERT INTO audit_auditevent (organization_id, actor_id, actor_email, token_prefix, action, object_type,
        object_id, object_repr, before, after, ip, device, created_at)
    SELECT %(org)s, %(user)s, %(email)s, '', 'stock.count_correction', 'inventory.stockmovement', moved.id::text,
           'count_correction ' || moved.quantity || ' of ' || moved.item_id, NULL,
           jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('item', lines.sku, 'location',
               lines.location_code, 'lot', lines.lot, 'delta', moved.quantity::text)), 'reason', 'count',
               'reference', %(ref)s), NULL, 'bench', now()
    FROM moved JOIN lines USING (item_id, location_id, lot) RETURNING 1)
INSERT INTO inventory_onhand AS o (organization_id, item_id, location_id, site_id, lot, quantity, updated_at)
SELECT %(org)s, item_id, location_id, site_id, lot, counted, now() FROM lines WHERE delta <> 0
ON CONFLICT (item_id, location_id, lot) DO UPDATE SET quantity = excluded.quantity, updated_at = now()"""
RAW_ALERTS = """
INSERT INTO inventory_stockalert (organization_id, kind, item_id, site_id, location_id, lot, severity, status, message,
    quantity, threshold, raised_at, resolution)
SELECT %(org)s, 'discrepancy', item_id, site_id, location_id, lot,
       CASE WHEN on_hand > 0 AND counted <= 0 THEN 'critical' WHEN on_hand <= 0 THEN 'medium'
            WHEN abs(counted - on_hand) / on_hand <= 0.05 THEN 'low'
            WHEN abs(counted - on_hand) / on_hand <= 0.2 THEN 'medium'
            WHEN abs(counted - on_hand) / on_hand <= 0.5 THEN 'high' ELSE 'critical' END,
       'open', left(sku || ' at ' || location_code || ': counted ' || counted || ', expected ' || on_hand, 300),
       counted, on_hand, now(), ''
FROM lines WHERE delta <> 0
ON CONFLICT (organization_id, kind, item_id, location_id, lot) WHERE (NOT (status = 'resolved')
                                                                      AND location_id IS NOT NULL)
DO UPDATE SET severity = excluded.severity, message = excluded.message, quantity = excluded.quantity,
              threshold = excluded.threshold"""
RAW_REPORT = """
INSERT INTO counts_countresultline (organization_id, session_id, area_barcode, location_code, sku, item_name, lot,
    expected, counted, moved, choice, posted, unit_cost, counted_by, approved_by, approved_at)
SELECT %(org)s, %(s)s, barcode, location_code, sku, name, lot, expected, counted, on_hand - expected, '', delta,
       unit_cost, %(email)s, coalesce(approved_by, 'automatic (within tolerance)'), approved_at FROM lines"""
RAW_CLOSE = """
WITH done AS (UPDATE counts_countsession SET status = 'completed', ended_at = now(), ended_by_id = %(user)s
              WHERE id = %(s)s RETURNING id),
     closed AS (UPDATE counts_countarea SET is_open = false WHERE session_id = %(s)s RETURNING 1)
INSERT INTO audit_auditevent (organization_id, actor_id, actor_email, token_prefix, action, object_type, object_id,
    object_repr, before, after, ip, device, created_at)
SELECT %(org)s, %(user)s, %(email)s, '', 'count.complete', 'counts.countsession', done.id::text, 'bench', NULL,
       (SELECT jsonb_build_object('lines', count(*), 'corrected', count(*) FILTER (WHERE delta <> 0)) FROM lines),
       NULL, 'bench', now() FROM done"""


def _rss_kb(field: str = "VmRSS") -> int:
    """This process's resident set (VmRSS) or its peak (VmHWM), in kB. Not getrusage's ru_maxrss: Linux carries
    that across exec, so a spawned child would report its parent's peak."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def complete_child(side: str, base: dict, target: dict, out) -> None:
    """Runs in a fresh process: one side's completion, timed, with its RSS before and its peak. The raw side's
    process never imports Django."""
    if side == "stocktrace":
        setup_django(DB_NAME)
        from django.db import connection

        from stocktrace.counts.models import CountSession
        from stocktrace.counts.services.completion import session_complete
        from stocktrace.tenancy.actor import Actor
        from stocktrace.tenancy.models import Membership

        membership = Membership.objects.select_related("user", "organization").get(pk=base["membership"])
        actor = Actor(organization=membership.organization, membership=membership)
        session = CountSession.objects.get(pk=target["session"])
        connection.ensure_connection()
        before = _rss_kb()
        t = time.perf_counter()
        session_complete(actor=actor, session=session)
        seconds = time.perf_counter() - t
    else:
        conn = psycopg.connect(db_url(DB_NAME))
        params = {"s": target["session"], "org": base["org"], "user": base["user"], "email": "counter@bench.test",
                  "ref": f"Count {target['session']}"}
        before = _rss_kb()
        t = time.perf_counter()
        with conn.transaction():
            for sql in (RAW_LINES, RAW_LOCK, RAW_POST, RAW_ALERTS, RAW_REPORT, RAW_CLOSE):
                conn.execute(sql, params)
        seconds = time.perf_counter() - t
        conn.close()
    out.put({"seconds": seconds, "rss_before_mb": before / 1024,
             "peak_mb": _rss_kb("VmHWM") / 1024})


def run_complete_child(side: str, base: dict, target: dict) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=complete_child, args=(side, base, target, out))
    process.start()
    result = out.get(timeout=3600)
    process.join()
    return result


def complete_check(base: dict, st: dict, raw: dict) -> list[str]:
    from django.db import connection

    from stocktrace.inventory.selectors import ledger_drift

    problems = []
    with connection.cursor() as cursor:
        per_side = {}
        for name, target in (("stocktrace", st), ("raw", raw)):
            cursor.execute("SELECT status FROM counts_countsession WHERE id = %s", [target["session"]])
            status = cursor.fetchone()[0]
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE posted <> 0), coalesce(sum(posted), 0) "
                           "FROM counts_countresultline WHERE session_id = %s", [target["session"]])
            lines, corrected, posted = cursor.fetchone()
            cursor.execute("SELECT count(*), coalesce(sum(quantity), 0) FROM inventory_stockmovement "
                           "WHERE site_id = %s AND kind = 'count_correction'", [target["site"]])
            movements, moved = cursor.fetchone()
            cursor.execute("""SELECT count(*) FROM counts_countexpected e JOIN inventory_onhand o
                              ON o.item_id = e.item_id AND o.location_id = e.location_id AND o.lot = e.lot
                              WHERE e.session_id = %s AND o.quantity <> (SELECT sum(s.quantity) FROM counts_countscan s
                              WHERE s.session_id = e.session_id AND s.item_id = e.item_id
                                AND s.location_id = e.location_id AND s.lot = e.lot)""", [target["session"]])
            off = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM inventory_stockalert WHERE site_id = %s AND kind = 'discrepancy'",
                           [target["site"]])
            alerts = cursor.fetchone()[0]
            per_side[name] = (lines, corrected, posted, movements, moved, alerts)
            if status != "completed":
                problems.append(f"{name}: session {status}")
            if lines != target["lines"] or movements != corrected or moved != posted or off:
                problems.append(f"{name}: {lines} report lines for {target['lines']}, {movements} movements for "
                                f"{corrected} corrections, {off} on-hand rows not at the count")
        if per_side["stocktrace"] != per_side["raw"]:
            problems.append(f"sides differ (lines, corrected, posted, movements, moved, alerts): {per_side}")
    drift = ledger_drift()
    if drift:
        problems.append(f"ledger drift: {drift[:3]}")
    return problems, per_side


# ------------------------------------------------------------------------------------------------ main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("STOCKTRACE_BENCH_QUICK")),
                        help="small sizes (also STOCKTRACE_BENCH_QUICK=1)")
    parser.add_argument("--only", nargs="+", choices=["sync", "scans", "complete"], help="run only these")
    parser.add_argument("--sync-requests", type=int)
    parser.add_argument("--sync-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--areas", type=int, help="completion: areas")
    parser.add_argument("--bins", type=int, help="completion: bins per area")
    parser.add_argument("--items", type=int, help="completion: items in every bin (at most 2000)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    quick = args.quick
    sync_requests = args.sync_requests or (5 if quick else 20)
    seconds = args.seconds or (4 if quick else 10)
    rounds = args.rounds or (1 if quick else 2)
    shape = (args.areas or (10 if quick else 50), args.bins or (2 if quick else 4),
             min(N_ITEMS, args.items or (250 if quick else 500)))
    wanted = set(args.only or ["sync", "scans", "complete"])

    started = time.perf_counter()
    load_start = os.getloadavg()
    create_database(DB_NAME)
    server = bare = None
    results: dict = {}
    try:
        setup_django(DB_NAME, migrate=True)
        base = build_base(2 * SYNC_AREAS + 2 * args.clients)
        targets = {}
        if "complete" in wanted:
            targets = {"stocktrace": build_completion(base, "CST", *shape),
                       "raw": build_completion(base, "CRAW", *shape)}
        from django.db import connection

        connection.close()
        with psycopg.connect(db_url(DB_NAME), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        setup_s = time.perf_counter() - started

        if wanted & {"sync", "scans"}:
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "stocktrace.cli", "serve", "--port", str(port), "--workers", "2",
                 "--threads", "4"], cwd=ROOT, env=django_env(DB_NAME), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True)
            wait_until_up(port, server)
            if "sync" in wanted:
                print(f"sync: {sync_requests} requests of {args.sync_size} per side (load {os.getloadavg()[0]:.2f})",
                      flush=True)
                results["sync"] = bench_sync(base, port, sync_requests, args.sync_size)
            if "scans" in wanted:
                raw_port = free_port()
                bare = start_raw_server(raw_port, db_url(DB_NAME))
                wait_until_up(raw_port, bare)
                print(f"scans: {args.clients} clients, {rounds} x {seconds:.0f} s per side "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
                results["scans"] = bench_scans(base, port, raw_port, args.clients, seconds, rounds)
                stop(bare)
                bare = None
            stop(server)
            server = None
        if "complete" in wanted:
            print(f"complete: {targets['raw']['lines']} lines per side (load {os.getloadavg()[0]:.2f})", flush=True)
            raw_result = run_complete_child("raw", base, targets["raw"])
            st_result = run_complete_child("stocktrace", base, targets["stocktrace"])
            problems, per_side = complete_check(base, targets["stocktrace"], targets["raw"])
            results["complete"] = {"stocktrace": st_result, "raw": raw_result, "problems": problems,
                                   "per_side": per_side, "lines": targets["raw"]["lines"]}
        if wanted & {"sync", "scans"}:
            results["queries"] = queries_per_request(base, args.sync_size)
        total_s = time.perf_counter() - started
        report(results, args, shape, sync_requests, seconds, rounds, setup_s, total_s, load_start)
        failed = (results.get("sync", {}).get("wrong") or results.get("complete", {}).get("problems")
                  or any(results.get("scans", {}).get(side, {}).get("errors") for side in ("stocktrace", "bare")))
        if failed:
            sys.exit("FAILED: wrong answers, errors or problems above; the numbers do not count")
    finally:
        for process in (server, bare):
            if process is not None:
                stop(process)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(results, args, shape, sync_requests, seconds, rounds, setup_s, total_s, load_start) -> None:
    print(f"\nmachine: {machine()}")
    print(f"load average at the start {' '.join(f'{v:.2f}' for v in load_start)}; set-up {setup_s:.0f} s, whole run "
          f"{total_s:.0f} s; {'--quick' if args.quick else 'full'} sizes")
    if "sync" in results:
        s = results["sync"]
        st, raw = s["stocktrace"], s["raw"]
        ratio = st["rate"] / raw["rate"]
        print(f"\nbatch sync: {sync_requests} requests of {args.sync_size} scans per side after 1 warm-up, "
              f"{SYNC_DUPLICATES:.0%} duplicates, alternating; stocktrace = POST /api/v1/count-sync through "
              f"stocktrace serve 2 x 4; raw = psycopg unnest INSERT ... ON CONFLICT DO NOTHING, no HTTP")
        print("| batch sync                              | scans/s (total) | scans/s (median request) | ms/request |")
        print("|-----------------------------------------|----------------:|-------------------------:|-----------:|")
        for label, r in (("stocktrace POST /count-sync", st), ("raw psycopg unnest INSERT", raw)):
            print(f"| {label:<39} | {r['rate']:15.0f} | {r['median_rate']:24.0f} | {r['median_ms']:10.1f} |")
        print(f"| {'ratio stocktrace / raw':<39} | {ratio:14.1%} | {st['median_rate'] / raw['median_rate']:23.1%} "
              f"| {'':>10} |")
        print(f"sync goal: >= {GOALS['sync']:.0%} of raw -> {verdict(ratio >= GOALS['sync'])} ({ratio:.1%}); "
              f"correctness: {len(s['wrong'])} wrong answers")
        for message in s["wrong"][:5]:
            print(f"  WRONG: {message}")
    if "scans" in results:
        s = results["scans"]
        st, bare = s["stocktrace"], s["bare"]
        rps, p99 = st["rps"] / bare["rps"], st["p99"] / bare["p99"]
        print(f"\nsingle scans: {args.clients} concurrent clients (2 processes x {args.clients // 2} threads), each "
              f"into its own held area, {rounds} round(s) x {seconds:.0f} s per side, alternating; both servers "
              "granian WSGI 2 workers x 4 threads")
        print("| single scans                                  |  req/s |  p50 ms |  p99 ms | accepted | errors |")
        print("|-----------------------------------------------|-------:|--------:|--------:|---------:|-------:|")
        for label, r in (("stocktrace POST /count-areas/{id}/scans", st), ("bare WSGI floor, same work", bare)):
            print(f"| {label:<45} | {r['rps']:6.0f} | {r['p50']:7.1f} | {r['p99']:7.1f} | {r['ok']:8d} | "
                  f"{r['errors']:6d} |")
        print(f"| {'ratio stocktrace / floor':<45} | {rps:5.0%} | {st['p50'] / bare['p50']:6.2f}x | {p99:6.2f}x | "
              f"{'':>8} | {'':>6} |")
        print(f"rounds, req/s: stocktrace {', '.join(f'{r:.0f}' for r in st['rounds'])}; floor "
              f"{', '.join(f'{r:.0f}' for r in bare['rounds'])}")
        print(f"scans goals: req/s >= {GOALS['scans_rps']:.0%} of the floor -> {verdict(rps >= GOALS['scans_rps'])} "
              f"({rps:.0%}); p99 <= {GOALS['scans_p99']:.0f}x the floor's -> {verdict(p99 <= GOALS['scans_p99'])} "
              f"({p99:.2f}x); zero errors -> {verdict(st['errors'] == 0)} ({st['errors']}; floor {bare['errors']})")
        for message in st["samples"] + bare["samples"]:
            print(f"  ERROR: {message}")
    if "queries" in results:
        q = results["queries"]
        kinds: dict[str, int] = {}
        for sql in q["sync"]:
            head = " ".join(sql.split()[:4])[:60]
            kinds[head] = kinds.get(head, 0) + 1
        print(f"\nstatements per request (in-process, CaptureQueriesContext): single scan {len(q['scan'])}; sync of "
              f"{args.sync_size} scans with {q['sync_codes']} distinct codes {len(q['sync'])}, the most frequent:")
        for head, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]:
            print(f"    {n:5d} x {head}")
        print("  single scan:")
        for sql in q["scan"]:
            print(f"    {' '.join(sql.split())[:150]}")
    if "complete" in results:
        c = results["complete"]
        st, raw = c["stocktrace"], c["raw"]
        ratio = st["seconds"] / raw["seconds"]
        lines, corrected = c["per_side"]["stocktrace"][0], c["per_side"]["stocktrace"][1]
        print(f"\ncompletion: {c['lines']} count lines per side ({shape[0]} areas x {shape[1]} bins x {shape[2]} "
              f"items), {corrected} of them corrected; each side in its own fresh process")
        print("| completion                                 | seconds | lines/s | RSS before MB | peak RSS MB |")
        print("|--------------------------------------------|--------:|--------:|--------------:|------------:|")
        for label, r in (("stocktrace session_complete", st), ("raw set-based SQL, one transaction", raw)):
            print(f"| {label:<42} | {r['seconds']:7.2f} | {lines / r['seconds']:7.0f} | {r['rss_before_mb']:13.0f} | "
                  f"{r['peak_mb']:11.0f} |")
        print(f"| {'ratio stocktrace / raw':<42} | {ratio:6.1f}x | {'':>7} | {'':>13} | "
              f"{st['peak_mb'] / raw['peak_mb']:10.1f}x |")
        print(f"completion goal: <= {GOALS['complete']:.0f}x raw -> {verdict(ratio <= GOALS['complete'])} "
              f"({ratio:.1f}x); correctness: " + ("both sessions completed, the same report lines, corrections, "
                                                   "movements and discrepancy alerts, on-hand = counted, "
                                                   "ledger_drift() empty" if not c["problems"] else "PROBLEMS"))
        for problem in c["problems"]:
            print(f"  PROBLEM: {problem}")


if __name__ == "__main__":
    main()
