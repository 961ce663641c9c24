"""Single stock receipts per second through the ledger service vs raw SQL through psycopg, in the same run.

    .venv/bin/python bench/ledger_posting.py [--postings 5000] [--block 100] [--concurrent-postings 1000]
    .venv/bin/python bench/ledger_posting.py --profile [--postings 2000]   # where a posting spends its time

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth):

1. Drops and creates the database `stocktrace_bench_ledger` (psycopg on `postgres`), migrates it in-process
   (DATABASE_URL pointing at it, DJANGO_SETTINGS_MODULE=config.settings, LOG_LEVEL=WARNING).
2. Through the services: two organizations, each with a site, 200 bin locations and 1,000 items. In `plain`
   the items have no min/max levels (a receipt does no alert work); in `levels` every item has a minimum of
   20, so most receipts land below it and raise or refresh a low-stock alert (as receipts of low stock do).
3. The raw side: plain tables `raw_on_hand` (unique item × location × lot) and `raw_movement` in the same
   database, no foreign keys, written with psycopg (autocommit connection, psycopg's defaults):
       BEGIN; INSERT INTO raw_movement ...;
              INSERT INTO raw_on_hand AS on_hand ... ON CONFLICT (item_id, location_id, lot)
                  DO UPDATE SET quantity = on_hand.quantity + EXCLUDED.quantity; COMMIT
   For `levels` a second raw variant adds what the level check needs: the item's total at the site
   (SELECT sum) and, below the minimum, an alert upsert on a partial unique index.
4. N receipts (random item × location pairs and quantities 1-5, the same sequence on both sides), each one
   `stock_receive(actor=Actor.system(org), ...)` in its own transaction (as one API call would be) with the
   item and location loaded beforehand (as the API view does, location with its site). The sides run in
   alternating blocks of 100 (st, raw, st, raw, ...) so drift on a noisy machine hits both. The table judges
   the median of the blocks' rates (a few stalled blocks, from other work on a shared machine, do not swing
   it) and shows the whole-run rate (total postings / total time) beside it.
5. Queries per posting (CaptureQueriesContext over one posting, a new and an existing on-hand row).
6. Concurrent: 2 processes per side posting at once to the same 10 hot item × location pairs, 3 rounds per
   side alternating (median reported); after each round the on-hand of each pair must equal what it held before
   plus everything the processes posted (no lost updates).
7. Correctness: `ledger_drift()` must be empty (on-hand equals the ledger sum), the movement count must match
   the postings, and the same check in SQL for the raw tables.

Not part of the test suite. Drops the database at the end (`--keep` keeps it).
"""

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from _common import create_database, db_url, drop_database, machine, percentile, setup_django  # noqa: E402

DB_NAME = "stocktrace_bench_ledger"
ITEMS, LOCATIONS, MIN_LEVEL = 1000, 200, Decimal(20)
HOT_PAIRS = 10
WARMUP = 100

RAW_SCHEMA = """
CREATE TABLE raw_on_hand (
    id bigserial PRIMARY KEY, organization_id bigint NOT NULL, item_id bigint NOT NULL,
    location_id bigint NOT NULL, site_id bigint NOT NULL, lot varchar(64) NOT NULL DEFAULT '',
    quantity numeric(18, 3) NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (item_id, location_id, lot));
CREATE INDEX raw_on_hand_site_item ON raw_on_hand (site_id, item_id);
CREATE TABLE raw_movement (
    id bigserial PRIMARY KEY, organization_id bigint NOT NULL, item_id bigint NOT NULL,
    location_id bigint NOT NULL, site_id bigint NOT NULL, lot varchar(64) NOT NULL DEFAULT '',
    kind varchar(20) NOT NULL, quantity numeric(18, 3) NOT NULL, unit_cost numeric(18, 4) NOT NULL DEFAULT 0,
    reference varchar(100) NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE raw_alert (
    id bigserial PRIMARY KEY, organization_id bigint NOT NULL, item_id bigint NOT NULL, site_id bigint NOT NULL,
    kind varchar(12) NOT NULL, severity varchar(8) NOT NULL, status varchar(12) NOT NULL DEFAULT 'open',
    quantity numeric(18, 3), threshold numeric(18, 3), raised_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX raw_alert_open ON raw_alert (item_id, site_id, kind) WHERE status <> 'resolved';
"""
RAW_MOVEMENT = ("INSERT INTO raw_movement (organization_id, item_id, location_id, site_id, lot, kind, quantity, "
                "unit_cost) VALUES (%s, %s, %s, %s, '', 'receipt', %s, %s)")
RAW_UPSERT = ("INSERT INTO raw_on_hand AS on_hand (organization_id, item_id, location_id, site_id, lot, quantity) "
              "VALUES (%s, %s, %s, %s, '', %s) ON CONFLICT (item_id, location_id, lot) "
              "DO UPDATE SET quantity = on_hand.quantity + EXCLUDED.quantity, updated_at = now()")
RAW_TOTAL = "SELECT coalesce(sum(quantity), 0) FROM raw_on_hand WHERE site_id = %s AND item_id = %s"
RAW_ALERT = ("INSERT INTO raw_alert (organization_id, item_id, site_id, kind, severity, quantity, threshold) "
             "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (item_id, site_id, kind) WHERE status <> 'resolved' "
             "DO UPDATE SET severity = EXCLUDED.severity, quantity = EXCLUDED.quantity")


# ---------------------------------------------------------------------------------------------- set-up

def build_org(slug: str, min_level):
    """An organization with a site, LOCATIONS bins and ITEMS items, all through the services."""
    from stocktrace.accounts.models import User
    from stocktrace.inventory.services.catalog import item_create, location_create
    from stocktrace.inventory.services.sites import site_create
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.services import organization_create

    admin = User.objects.create_user(email=f"{slug}@bench.test", password=None)
    org = organization_create(name=slug.title(), slug=slug, admin=admin)
    actor = Actor.system(org)
    site = site_create(actor=actor, code="S1", name="Bench site")
    locations = [location_create(actor=actor, site=site, code=f"B{i:03d}") for i in range(LOCATIONS)]
    items = [item_create(actor=actor, sku=f"SKU{i:05d}", name=f"Item {i}", unit_cost="1.5000", min_level=min_level)
             for i in range(ITEMS)]
    return org, items, locations


def load_org(org_id: int):
    """The organization's items and locations as the API views load them (location with its site)."""
    from stocktrace.inventory.models import Item, Location
    from stocktrace.tenancy.models import Organization

    org = Organization.objects.get(pk=org_id)
    items = list(Item.objects.filter(organization=org).order_by("pk"))
    locations = list(Location.objects.filter(organization=org).select_related("site").order_by("pk"))
    return org, items, locations


def postings_for(seed: int, n: int) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    return [(rng.randrange(ITEMS), rng.randrange(LOCATIONS), rng.randint(1, 5)) for _ in range(n)]


# -------------------------------------------------------------------------------------------- posters

class StPoster:
    def __init__(self, org, items, locations):
        from stocktrace.inventory.services.ledger import stock_receive
        from stocktrace.tenancy.actor import Actor

        self.receive, self.actor = stock_receive, Actor.system(org)
        self.items, self.locations = items, locations

    def post(self, item_index: int, location_index: int, qty: int) -> None:
        self.receive(actor=self.actor, item=self.items[item_index], location=self.locations[location_index],
                     quantity_received=Decimal(qty))


class RawPoster:
    """The same receipt as raw SQL; with `levels`, also the level check stocktrace does for items with a minimum."""

    def __init__(self, conn, org, items, locations, levels: bool, id_offset: int = 0):
        self.conn, self.org_id, self.levels = conn, org.pk, levels
        # id_offset keeps a second raw variant on the same organization off the first one's rows
        self.items = [(i.pk + id_offset, i.unit_cost, i.min_level) for i in items]
        self.locations = [(loc.pk, loc.site_id) for loc in locations]

    def post(self, item_index: int, location_index: int, qty: int) -> None:
        item_id, cost, min_level = self.items[item_index]
        location_id, site_id = self.locations[location_index]
        amount = Decimal(qty)
        conn = self.conn
        with conn.transaction():
            conn.execute(RAW_MOVEMENT, (self.org_id, item_id, location_id, site_id, amount, cost))
            conn.execute(RAW_UPSERT, (self.org_id, item_id, location_id, site_id, amount))
            if self.levels and min_level is not None:
                total = conn.execute(RAW_TOTAL, (site_id, item_id)).fetchone()[0]
                if total < min_level:
                    kind, severity = ("stockout", "critical") if total <= 0 else \
                        ("low_stock", "high" if total <= min_level / 2 else "medium")
                    conn.execute(RAW_ALERT, (self.org_id, item_id, site_id, kind, severity, total, min_level))


def run_interleaved(postings, sides: dict, block: int) -> dict:
    """Run the same postings on every side, in alternating blocks. Per side: the median of the blocks' rates
    (robust to the stalls other work on a shared machine causes), the whole-run rate, and latency percentiles."""
    seconds = {name: 0.0 for name in sides}
    block_rates = {name: [] for name in sides}
    latencies = {name: [] for name in sides}
    clock = time.perf_counter
    for start in range(0, len(postings), block):
        chunk = postings[start:start + block]
        order = list(sides.items()) if (start // block) % 2 == 0 else list(reversed(sides.items()))
        for name, poster in order:
            post, lat = poster.post, latencies[name]
            began = clock()
            for item_index, location_index, qty in chunk:
                t = clock()
                post(item_index, location_index, qty)
                lat.append(clock() - t)
            spent = clock() - began
            seconds[name] += spent
            block_rates[name].append(len(chunk) / spent)
    return {name: {"seconds": seconds[name], "rate": statistics.median(block_rates[name]),
                   "wall_rate": len(postings) / seconds[name], "blocks": len(block_rates[name]),
                   "p50_us": percentile(sorted(latencies[name]), 50) * 1e6,
                   "p99_us": percentile(sorted(latencies[name]), 99) * 1e6} for name in sides}


def below_min_share(postings, warmup_postings) -> float:
    """Which share of the timed postings leave the item's site total below MIN_LEVEL (alert work follows)."""
    totals: dict[int, int] = {}
    for item_index, _, qty in warmup_postings:
        totals[item_index] = totals.get(item_index, 0) + qty
    below = 0
    for item_index, _, qty in postings:
        totals[item_index] = totals.get(item_index, 0) + qty
        below += totals[item_index] < MIN_LEVEL
    return below / len(postings)


def queries_of_one_posting(poster: StPoster, item_index: int, location_index: int) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        poster.post(item_index, location_index, 1)
    return [q["sql"] for q in captured.captured_queries]


def sql_time_share(poster: StPoster, postings) -> tuple[float, float]:
    """(wall us per posting, of which us inside the database driver's execute) over these postings."""
    from django.db import connection

    spent = [0.0]

    def timed(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - t

    began = time.perf_counter()
    with connection.execute_wrapper(timed):
        for p in postings:
            poster.post(*p)
    wall = time.perf_counter() - began
    return wall / len(postings) * 1e6, spent[0] / len(postings) * 1e6


# ------------------------------------------------------------------------------------------ concurrent

def concurrent_worker(side: str, org_id: int, seed: int, n: int, barrier, results) -> None:
    """One of the 2 processes of a side: n receipts on the HOT_PAIRS (item i at location i, i < HOT_PAIRS)."""
    rng = random.Random(seed)
    postings = [(i, i, rng.randint(1, 5)) for i in (rng.randrange(HOT_PAIRS) for _ in range(n))]
    posted = [0] * HOT_PAIRS
    errors = []
    setup_django(DB_NAME)
    org, items, locations = load_org(org_id)
    if side == "stocktrace":
        poster = StPoster(org, items, locations)
    else:
        poster = RawPoster(psycopg.connect(db_url(DB_NAME), autocommit=True), org, items, locations, levels=False)
    barrier.wait()
    began = time.perf_counter()
    for item_index, location_index, qty in postings:
        try:
            poster.post(item_index, location_index, qty)
        except Exception as error:  # noqa: BLE001 -- counted and reported: a failed posting posted nothing
            errors.append(repr(error)[:200])
        else:
            posted[item_index] += qty
    results.put((side, began, time.perf_counter(), posted, errors))


def hot_quantities(side: str, org, items, locations) -> list[Decimal]:
    from stocktrace.inventory.models import OnHand

    if side == "stocktrace":
        found = {(r.item_id, r.location_id): r.quantity for r in OnHand.objects.filter(organization=org, lot="")}
    else:
        with psycopg.connect(db_url(DB_NAME)) as conn:
            found = {(i, loc): q for i, loc, q in conn.execute(
                "SELECT item_id, location_id, quantity FROM raw_on_hand WHERE organization_id = %s AND lot = ''",
                (org.pk,))}
    return [found.get((items[i].pk, locations[i].pk), Decimal(0)) for i in range(HOT_PAIRS)]


def run_concurrent(side: str, org, items, locations, n: int) -> dict:
    from django.db import connection

    connection.close()  # the parent holds no connection while the children post
    before = hot_quantities(side, org, items, locations)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=concurrent_worker, args=(side, org.pk, 1000 + k, n, barrier, results))
             for k in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    after = hot_quantities(side, org, items, locations)
    posted = [sum(o[3][i] for o in outcomes) for i in range(HOT_PAIRS)]
    elapsed = max(o[2] for o in outcomes) - min(o[1] for o in outcomes)
    ok_count = 2 * n - sum(len(o[4]) for o in outcomes)
    lost = [i for i in range(HOT_PAIRS) if after[i] != before[i] + posted[i]]
    return {"rate": ok_count / elapsed, "ok": ok_count, "errors": [e for o in outcomes for e in o[4]],
            "lost": lost, "posted": sum(posted), "gained": sum(after) - sum(before)}


# ----------------------------------------------------------------------------------------- correctness

def check_stocktrace(orgs, expected_movements: dict) -> list[str]:
    from stocktrace.inventory.models import StockMovement
    from stocktrace.inventory.selectors import ledger_drift

    problems = []
    drift = ledger_drift()
    if drift:
        problems.append(f"ledger_drift() is not empty: {drift[:3]}")
    for org in orgs:
        count = StockMovement.objects.filter(organization=org).count()
        if count != expected_movements[org.pk]:
            problems.append(f"{org.slug}: {count} movements, expected {expected_movements[org.pk]}")
    return problems


def check_raw(conn, expected_movements: dict) -> list[str]:
    problems = []
    drift = conn.execute("""
        SELECT count(*) FROM raw_on_hand o FULL JOIN (
            SELECT item_id, location_id, lot, sum(quantity) AS total FROM raw_movement
            GROUP BY item_id, location_id, lot) m USING (item_id, location_id, lot)
        WHERE o.quantity IS DISTINCT FROM m.total""").fetchone()[0]
    if drift:
        problems.append(f"raw: {drift} on-hand rows differ from their ledger sum")
    for org_id, expected in expected_movements.items():
        count = conn.execute("SELECT count(*) FROM raw_movement WHERE organization_id = %s", (org_id,)).fetchone()[0]
        if count != expected:
            problems.append(f"raw org {org_id}: {count} movements, expected {expected}")
    return problems


# ----------------------------------------------------------------------------------------------- main

def profile(poster: StPoster, postings) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for p in postings:
        poster.post(*p)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    print(f"\ncProfile over {len(postings)} postings (plain org), by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(40)


def fmt_row(label, st: dict, raw: dict, goal=None):
    ratio = st["rate"] / raw["rate"]
    verdict = "" if goal is None else ("met" if ratio >= goal else "NOT met")
    if "wall_rate" in st:
        wall = (f"{st['wall_rate']:8.0f} | {raw['wall_rate']:8.0f} | {st['wall_rate'] / raw['wall_rate']:6.1%}")
    else:
        wall = f"{'':8} | {'':8} | {'':6}"
    return f"| {label:<52} | {st['rate']:10.0f} | {raw['rate']:10.0f} | {ratio:6.1%} | {verdict:<7} | {wall} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postings", type=int, default=5000)
    parser.add_argument("--block", type=int, default=100, help="postings per alternating block")
    parser.add_argument("--concurrent-postings", type=int, default=1000, help="per process and round")
    parser.add_argument("--concurrent-rounds", type=int, default=3, help="rounds per side, alternating")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the stocktrace side only")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    started = time.perf_counter()
    create_database(DB_NAME)
    try:
        setup_django(DB_NAME, migrate=True)
        raw_conn = psycopg.connect(db_url(DB_NAME), autocommit=True)
        raw_conn.execute(RAW_SCHEMA)
        plain = build_org("plain", None)
        levels = build_org("levels", MIN_LEVEL)
        setup_s = time.perf_counter() - started
        plain = load_org(plain[0].pk)
        levels = load_org(levels[0].pk)
        st_plain, st_levels = StPoster(*plain), StPoster(*levels)

        if args.profile:
            st_plain.post(0, 0, 1)
            profile(st_plain, postings_for(args.seed, args.postings))
            print("queries of one posting (new on-hand row):")
            for sql in queries_of_one_posting(st_plain, ITEMS - 1, LOCATIONS - 1):
                print("  ", sql[:160])
            wall, sql = sql_time_share(st_plain, postings_for(args.seed + 1, 1000))
            print(f"per posting: {wall:.0f} us wall, {sql:.0f} us inside cursor.execute "
                  f"({sql / wall:.0%}), {wall - sql:.0f} us in Python around it")
            return

        raw_plain = RawPoster(raw_conn, *plain, levels=False)
        raw_levels = RawPoster(raw_conn, *levels, levels=False)
        raw_levels_checked = RawPoster(raw_conn, *levels, levels=True, id_offset=10**9)
        expected = {plain[0].pk: 0, levels[0].pk: 0}

        # warm-up: first use of each code path and statement, untimed (but checked at the end like the rest)
        warm = postings_for(args.seed + 100, WARMUP)
        run_interleaved(warm, {"stocktrace": st_plain, "raw": raw_plain}, WARMUP)
        run_interleaved(warm, {"stocktrace": st_levels, "raw": raw_levels_checked}, WARMUP)
        expected[plain[0].pk] += WARMUP
        expected[levels[0].pk] += WARMUP

        postings = postings_for(args.seed, args.postings)
        result_plain = run_interleaved(postings, {"stocktrace": st_plain, "raw": raw_plain}, args.block)
        expected[plain[0].pk] += len(postings)

        # levels: the same receipts on the `levels` organization, against both raw variants (each on its own
        # rows, so each sees the same running totals as stocktrace)
        result_levels = run_interleaved(postings, {"stocktrace": st_levels, "raw": raw_levels,
                                                   "raw+levels": raw_levels_checked}, args.block)
        expected[levels[0].pk] += len(postings)
        below = below_min_share(postings, warm)

        queries_new = queries_of_one_posting(st_plain, ITEMS - 1, LOCATIONS - 1)
        queries_existing = queries_of_one_posting(st_plain, ITEMS - 1, LOCATIONS - 1)
        levels_low = queries_of_one_posting(st_levels, ITEMS - 1, LOCATIONS - 1)  # total far below 20
        expected[plain[0].pk] += 2
        expected[levels[0].pk] += 1
        wall_us, sql_us = sql_time_share(st_plain, postings_for(args.seed + 200, 500))
        expected[plain[0].pk] += 500

        rounds = {"stocktrace": [], "raw": []}
        for _ in range(args.concurrent_rounds):
            for side in rounds:
                rounds[side].append(run_concurrent(side, *plain, args.concurrent_postings))
        concurrent = {side: {"rate": statistics.median(r["rate"] for r in runs), "ok": sum(r["ok"] for r in runs),
                             "errors": [e for r in runs for e in r["errors"]],
                             "lost": [i for r in runs for i in r["lost"]],
                             "posted": sum(r["posted"] for r in runs), "gained": sum(r["gained"] for r in runs),
                             "rates": [r["rate"] for r in runs]}
                      for side, runs in rounds.items()}
        expected_raw = {plain[0].pk: WARMUP + len(postings) + concurrent["raw"]["ok"],
                        levels[0].pk: WARMUP + 2 * len(postings)}
        expected[plain[0].pk] += concurrent["stocktrace"]["ok"]

        problems = check_stocktrace([plain[0], levels[0]], expected) + check_raw(raw_conn, expected_raw)
        raw_conn.close()
        total_s = time.perf_counter() - started

        print(f"\nmachine: {machine()}")
        print(f"N = {len(postings)} single receipts per variant, {ITEMS} items x {LOCATIONS} locations, one site; "
              f"alternating blocks of {args.block}; set-up {setup_s:.0f} s, whole run {total_s:.0f} s")
        print()
        blocks = result_plain["stocktrace"]["blocks"]
        print(f"postings/s: median of the {blocks} blocks' rates per side (the ratio judged), and the whole-run rate "
              f"(total postings / total time), which stalls from other work on the machine drag down")
        print(f"| {'postings/s':<52} | stocktrace |    raw SQL |  ratio | >= 50%  | st whole | raw whole|  ratio |")
        print(f"|{'-' * 54}|-----------:|-----------:|-------:|---------|---------:|---------:|-------:|")
        print(fmt_row("single receipts, items without levels", result_plain["stocktrace"], result_plain["raw"], 0.5))
        print(fmt_row("single receipts, items with min level (vs raw upsert)", result_levels["stocktrace"],
                      result_levels["raw"], 0.5))
        print(fmt_row("  same, vs raw upsert + level check + alert upsert", result_levels["stocktrace"],
                      result_levels["raw+levels"]))
        c_st, c_raw = concurrent["stocktrace"], concurrent["raw"]
        print(fmt_row(f"concurrent: 2 procs x {args.concurrent_postings}, {HOT_PAIRS} hot pairs, median of "
                      f"{args.concurrent_rounds}", c_st, c_raw))
        print()
        print(f"| {'latency per posting, us':<52} |   p50 st |  p50 raw |   p99 st |  p99 raw |")
        print(f"|{'-' * 54}|---------:|---------:|---------:|---------:|")
        for label, res, raw_key in (("without levels", result_plain, "raw"), ("with min level", result_levels, "raw"),
                                    ("with min level, raw + level check", result_levels, "raw+levels")):
            print(f"| {label:<52} | {res['stocktrace']['p50_us']:8.0f} | {res[raw_key]['p50_us']:8.0f} | "
                  f"{res['stocktrace']['p99_us']:8.0f} | {res[raw_key]['p99_us']:8.0f} |")
        print()
        print(f"queries per posting (stocktrace; raw: 2 statements, 3-4 with the level check, + BEGIN/COMMIT): "
              f"{len(queries_new)} for a new on-hand row, {len(queries_existing)} for an existing one, "
              f"{len(levels_low)} for an item below its minimum (alert refreshed); "
              f"{below:.0%} of the timed `levels` receipts left their item below the minimum")
        for sql in queries_existing:
            print(f"    {sql[:150]}")
        print("  and for an item below its minimum, in addition (alerts_for_levels -> alert_raise):")
        plain_heads = {sql[:40] for sql in queries_existing}
        for sql in levels_low:
            if sql[:40] not in plain_heads:
                print(f"    {sql[:150]}")
        print(f"time per posting (plain, 500 more postings, execute wrapped): {wall_us:.0f} us, of which "
              f"{sql_us:.0f} us ({sql_us / wall_us:.0%}) inside cursor.execute (round trip + server), "
              f"{wall_us - sql_us:.0f} us Python (ORM, service, transaction)")
        for side, c in concurrent.items():
            print(f"concurrent {side}: rounds {', '.join(f'{r:.0f}' for r in c['rates'])} postings/s; "
                  f"{c['ok']} postings ok, {len(c['errors'])} failed, posted {c['posted']}, "
                  f"on-hand gained {c['gained']} -> {'no lost updates' if not c['lost'] else 'LOST UPDATES'}"
                  + (f"; first error: {c['errors'][0]}" if c["errors"] else ""))
        print("correctness: " + ("ledger_drift() empty, movement counts match, raw ledger matches"
                                 if not problems else ""))
        for problem in problems:
            print(f"  PROBLEM: {problem}")
        if problems or any(c["lost"] or c["errors"] for c in concurrent.values()):
            sys.exit(1)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)


if __name__ == "__main__":
    main()
