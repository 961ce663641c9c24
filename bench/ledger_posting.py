"""Single stock receipts per second through the ledger service vs raw SQL through psycopg, in the same run.

    .venv/bin/python bench/ledger_posting.py [--postings 5000] [--block 100] [--concurrent-postings 1000]
    .venv/bin/python bench/ledger_posting.py --profile [--postings 2000]   # where a posting spends its time

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth):

1. Drops and creates the database `st_bench_ledger` (psycopg on `postgres`), migrates it in-process
   (DATABASE_URL pointing at it, DJANGO_SETTINGS_MODULE=config.settings, LOG_LEVEL=WARNING).
2. Through the services: six organizations built alike, each with a site, 200 bin locations and 1,000 items.
   `plain` and `levels` are posted to by stocktrace; `onestmtplain` and `onestmtlevels` by raw-1stmt, `rawplain`
   and `rawlevels` by the raw 2-stmt product-tables side (so no side touches another's on-hand rows, and each
   starts from the same empty stock). In the `*plain` ones the items have no min/max levels (a receipt does no
   alert work); in the `*levels` ones every item has a minimum of 20, so most receipts land below it and
   stocktrace raises or refreshes a low-stock alert (as receipts of low stock do).
3. The sides, each a single receipt in its own transaction (raw-1stmt: in its own autocommitted statement):
   - stocktrace: `stock_receive(actor=Actor.system(org), ...)` (as one API call would be) with the item and
     location loaded beforehand (as the API view does, location with its site). On PostgreSQL the service sends
     one statement per posting through `stocktrace.core.db.pg_execute` (on-hand upsert, movement, audit row in
     one data-modifying CTE, prepared on the server), checks the balance in Python, then for items with levels
     evaluates the alerts through the ORM.
   - raw-1stmt (product tables), the fastest raw shape and the side the verdict is judged against: one
     autocommitted statement per posting (1 round trip, no BEGIN, no COMMIT of its own; stocktrace sends BEGIN,
     its statement and COMMIT) doing the work of stocktrace's statement: on-hand upsert, movement, audit row,
     and the balance check in SQL (see ONE_ON_HAND). On its own organizations `onestmtplain` and
     `onestmtlevels`; for `onestmtlevels` the same statement also does the level check, the alert upsert and
     the resolve that stocktrace's level_alerts_check does (see ONE_LEVELS). Its alerts must end up identical to
     stocktrace's `levels` organization's, and each of its postings must leave one audit row.
   - raw (product tables), "raw 2-stmt": psycopg on its own autocommit connection, psycopg's defaults (prepared after 5
     executions), on the product's own tables with their deferred foreign keys (checked at COMMIT), their
     index per foreign key and their check constraint; no audit row, no alert work:
       BEGIN; INSERT INTO inventory_stockmovement (organization_id, item_id, location_id, site_id, lot, kind,
                  quantity, unit_cost, reason, reference, created_at) VALUES (..., '', 'receipt', ..., now());
              INSERT INTO inventory_onhand AS on_hand (...) VALUES (...) ON CONFLICT (item_id, location_id, lot)
                  DO UPDATE SET quantity = on_hand.quantity + EXCLUDED.quantity, updated_at = now(); COMMIT
     This was "the equivalent raw SQL" the goal was judged against before raw-1stmt; without levels the verdict
     is now judged against the faster of the two.
   - raw (plain tables): the same two statements on plain tables `raw_movement` / `raw_on_hand` in the same
     database (no foreign keys, only the unique on-hand key and one more index), shown for reference. For
     `levels` a variant of it (`raw+levels`) adds what the level check needs: the item's total at the site
     (SELECT sum), below the minimum an alert upsert on a partial unique index, and the UPDATE that resolves
     the open level alerts no longer due (stocktrace resolves them when the stock recovers).
4. N receipts (random item × location pairs and quantities 1-5, the same sequence on every side), in
   alternating blocks of 100 (st, pt, plain, then plain, pt, st, ...) so drift on a noisy machine hits all
   sides. The table judges the median of the blocks' rates (a few stalled blocks, from other work on a shared
   machine, do not swing it) and shows the whole-run rate (total postings / total time) beside it.
5. Statements per posting on the stocktrace side, seen by Django's execute wrapper AND by a wrapper around
   `stocktrace.core.db._run` (which is what `pg_execute` calls; Django's wrappers and CaptureQueriesContext
   do not see those), printed for one posting; then the time per posting inside the statements (both
   paths), inside COMMIT (Django's connection `_commit` wrapped) and inside `level_alerts_check`.
6. Concurrent: 2 processes per side posting at once to the same 10 hot item × location pairs, 3 rounds per
   side alternating (median reported), for stocktrace and the three raw sides; after each round the on-hand of
   each pair must equal what it held before plus everything the processes posted (no lost updates).
7. Correctness: `ledger_drift()` must be empty, over all organizations and for each one (the raw
   product-tables sides write movements and on-hand, so their organizations are checked the same way), the
   movement count of each organization must match its postings, and the same checks in SQL for the plain raw
   tables; one `stock.receipt` audit row per posting for stocktrace and raw-1stmt; after the timed postings,
   the open and resolved level alerts of `levels` (stocktrace) and `onestmtlevels` (raw-1stmt) identical.

Not part of the test suite. Drops the database at the end (`--keep` keeps it).
"""

import argparse
import contextlib
import multiprocessing
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from _common import bench_db, create_database, db_url, drop_database, machine, percentile, setup_django  # noqa: E402

DB_NAME = bench_db("ledger")
ITEMS, LOCATIONS, MIN_LEVEL = 1000, 200, Decimal(20)
HOT_PAIRS = 10
WARMUP = 100
GOAL = 0.5

ST, PT, PLAIN, PLAIN_LEVELS = "stocktrace", "raw (product tables)", "raw (plain tables)", "raw+levels (plain tables)"
ONE = "raw-1stmt (product tables)"

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
    quantity numeric(18, 3), threshold numeric(18, 3), raised_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz, resolution varchar(200) NOT NULL DEFAULT '');
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
RAW_RESOLVE = ("UPDATE raw_alert SET status = 'resolved', resolved_at = now(), resolution = %s "
               "WHERE item_id = %s AND site_id = %s AND status <> 'resolved' AND kind = ANY(%s)")
LEVEL_KINDS = ["excess", "low_stock", "stockout"]
# The same two statements on the product's tables: every NOT NULL column filled, the rest left to NULL
# (expires_on, group, actor_id), as a receipt of an item without lots writes them.
PT_MOVEMENT = ("INSERT INTO inventory_stockmovement (organization_id, item_id, location_id, site_id, lot, kind, "
               "quantity, unit_cost, reason, reference, created_at) "
               "VALUES (%s, %s, %s, %s, '', 'receipt', %s, %s, '', '', now())")
PT_UPSERT = ("INSERT INTO inventory_onhand AS on_hand (organization_id, item_id, location_id, site_id, lot, quantity, "
             "updated_at) VALUES (%s, %s, %s, %s, '', %s, now()) ON CONFLICT (item_id, location_id, lot) "
             "DO UPDATE SET quantity = on_hand.quantity + EXCLUDED.quantity, updated_at = now()")

# raw-1stmt: the shape stocktrace uses on PostgreSQL, as the fastest raw client would send it: one autocommitted
# statement per posting (one round trip, one commit, no BEGIN), prepared by psycopg after 5 executions. It does
# the work stocktrace's statement does: the on-hand upsert (one row per receipt, so the lock order is trivially
# the key order; the row stays locked until the statement commits), the movement row with the on-hand row's
# expiry, the audit row (same columns, JSON `after` built per posting in Python as stocktrace builds it), and
# the balance check, here in SQL (raw_refuse raises, the statement and so the posting roll back). For items with
# a minimum (`levels`) the same statement also does what stocktrace's level_alerts_check does in its further
# statements: the item's total at the site, the alert upsert on the open-level-alert index when below the
# minimum, and the resolve of the open level alerts no longer due.
RAW_REFUSE = """
CREATE FUNCTION raw_refuse(message text) RETURNS numeric LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'check_violation'; END $$;
"""
ONE_ON_HAND = """
WITH on_hand AS (
    INSERT INTO inventory_onhand AS o (organization_id, item_id, location_id, site_id, lot, expires_on, quantity,
                                       updated_at)
    VALUES (%(org)s, %(item)s, %(location)s, %(site)s, '', NULL, %(qty)s, now())
    ON CONFLICT (item_id, location_id, lot) DO UPDATE SET
        quantity = o.quantity + excluded.quantity,
        expires_on = CASE WHEN o.quantity > 0 THEN COALESCE(o.expires_on, excluded.expires_on)
                          ELSE COALESCE(excluded.expires_on, o.expires_on) END,
        updated_at = excluded.updated_at
    RETURNING quantity, expires_on
), movement AS (
    INSERT INTO inventory_stockmovement (organization_id, item_id, location_id, site_id, lot, expires_on, kind,
        quantity, unit_cost, reason, reference, "group", actor_id, created_at)
    SELECT %(org)s, %(item)s, %(location)s, %(site)s, '', on_hand.expires_on, 'receipt', %(qty)s, %(cost)s, '', '',
           NULL, NULL, now() FROM on_hand
    RETURNING id
), audit AS (
    INSERT INTO audit_auditevent (organization_id, actor_id, actor_email, token_prefix, action, object_type,
        object_id, object_repr, before, after, ip, device, created_at)
    SELECT %(org)s, NULL, 'system', '', 'stock.receipt', 'inventory.stockmovement', movement.id::text, %(repr)s,
           NULL, %(after)s::jsonb, NULL, 'system', now() FROM movement
)"""
ONE_PLAIN = ONE_ON_HAND + """
SELECT CASE WHEN quantity < 0 THEN raw_refuse('negative stock') ELSE quantity END FROM on_hand"""
ONE_LEVELS = ONE_ON_HAND + """,
total AS (  -- the item's total at the site: the other on-hand rows as the statement found them, plus this one
    SELECT on_hand.quantity + coalesce((SELECT sum(quantity) FROM inventory_onhand
        WHERE organization_id = %(org)s AND site_id = %(site)s AND item_id = %(item)s
          AND NOT (location_id = %(location)s AND lot = '')), 0) AS total,
        CASE WHEN on_hand.quantity < 0 THEN raw_refuse('negative stock') END AS refused
    FROM on_hand
), due AS (
    SELECT total, CASE WHEN total <= 0 THEN 'stockout' WHEN total < %(min)s::numeric THEN 'low_stock' END AS kind,
           CASE WHEN total <= 0 THEN 'critical' WHEN total <= %(min)s::numeric / 2 THEN 'high' ELSE 'medium' END
               AS severity
    FROM total
), raised AS (
    INSERT INTO inventory_stockalert (organization_id, kind, item_id, site_id, location_id, lot, severity, status,
        message, quantity, threshold, raised_at, resolution)
    SELECT %(org)s, due.kind, %(item)s, %(site)s, NULL, '', due.severity, 'open',
           CASE WHEN due.kind = 'stockout'
                THEN format('%%s is out of stock (%%s %%s)', %(sku)s::text, due.total, %(unit)s::text)
                ELSE format('%%s is low: %%s %%s, minimum %%s', %(sku)s::text, due.total, %(unit)s::text,
                            %(min)s::numeric) END,
           due.total, %(min)s::numeric, now(), ''
    FROM due WHERE due.kind IS NOT NULL
    ON CONFLICT (organization_id, kind, item_id, site_id) WHERE (NOT (status = 'resolved') AND location_id IS NULL)
    DO UPDATE SET severity = excluded.severity, message = excluded.message, quantity = excluded.quantity,
                  threshold = excluded.threshold
    RETURNING id
), resolved AS (
    UPDATE inventory_stockalert a SET status = 'resolved', resolved_at = now(), resolved_by_id = NULL,
        resolution = format('%%s %%s on hand at the site', due.total, %(unit)s::text)
    FROM due
    WHERE a.organization_id = %(org)s AND a.item_id = %(item)s AND a.site_id = %(site)s AND a.location_id IS NULL
      AND NOT (a.status = 'resolved') AND a.kind IN ('stockout', 'low_stock', 'excess')
      AND a.kind IS DISTINCT FROM due.kind
    RETURNING a.id
)
SELECT coalesce(refused, 0), total, (SELECT count(*) FROM raised), (SELECT count(*) FROM resolved) FROM total"""



# ---------------------------------------------------------------------------------------------- set-up

def build_org(slug: str, min_level):
    """An organization with a site, LOCATIONS bins and ITEMS items, all through the services."""
    from stocktrace.accounts.models import User
    from stocktrace.accounts.services import organization_create, site_create
    from stocktrace.inventory.services.catalog import item_create, location_create
    from stocktrace.tenancy.actor import Actor

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
    """The same receipt as raw SQL, on the product's tables (`product=True`) or on the plain raw tables; with
    `levels` (plain tables only), also the level check stocktrace does for items with a minimum."""

    def __init__(self, conn, org, items, locations, levels: bool = False, id_offset: int = 0, product: bool = False):
        assert not (product and (levels or id_offset)), "the product tables have foreign keys: real ids only"
        self.conn, self.org_id, self.levels = conn, org.pk, levels
        self.movement_sql, self.upsert_sql = (PT_MOVEMENT, PT_UPSERT) if product else (RAW_MOVEMENT, RAW_UPSERT)
        # id_offset keeps a second raw variant on the same organization off the first one's rows
        self.items = [(i.pk + id_offset, i.unit_cost, i.min_level) for i in items]
        self.locations = [(loc.pk, loc.site_id) for loc in locations]

    def post(self, item_index: int, location_index: int, qty: int) -> None:
        item_id, cost, min_level = self.items[item_index]
        location_id, site_id = self.locations[location_index]
        amount = Decimal(qty)
        conn = self.conn
        with conn.transaction():
            conn.execute(self.movement_sql, (self.org_id, item_id, location_id, site_id, amount, cost))
            conn.execute(self.upsert_sql, (self.org_id, item_id, location_id, site_id, amount))
            if self.levels and min_level is not None:
                total = conn.execute(RAW_TOTAL, (site_id, item_id)).fetchone()[0]
                due = None
                if total < min_level:
                    due, severity = ("stockout", "critical") if total <= 0 else \
                        ("low_stock", "high" if total <= min_level / 2 else "medium")
                    conn.execute(RAW_ALERT, (self.org_id, item_id, site_id, due, severity, total, min_level))
                conn.execute(RAW_RESOLVE, (f"{total} on hand", item_id, site_id,
                                           [kind for kind in LEVEL_KINDS if kind != due]))


class RawOnePoster:
    """raw-1stmt: the receipt as one autocommitted statement on the product's tables (see ONE_ON_HAND): the
    shape stocktrace sends, without BEGIN and COMMIT around it; with `levels`, the level check and alert work in
    the same statement."""

    def __init__(self, conn, org, items, locations, levels: bool = False):
        import json

        self.conn, self.org_id, self.dumps = conn, org.pk, json.dumps
        self.sql = ONE_LEVELS if levels else ONE_PLAIN
        self.items = [(i.pk, i.sku, i.name, i.unit, i.unit_cost, i.min_level) for i in items]
        self.locations = [(loc.pk, loc.site_id, loc.code) for loc in locations]

    def post(self, item_index: int, location_index: int, qty: int) -> None:
        item_id, sku, name, unit, cost, min_level = self.items[item_index]
        location_id, site_id, code = self.locations[location_index]
        amount = Decimal(qty)
        after = self.dumps({"lines": [{"item": sku, "location": code, "lot": "", "delta": str(amount)}],
                            "reason": "", "reference": ""})
        row = self.conn.execute(self.sql, {
            "org": self.org_id, "item": item_id, "location": location_id, "site": site_id, "qty": amount,
            "cost": cost, "repr": f"receipt {amount} of {item_id} at {location_id}", "after": after,
            "min": min_level, "sku": sku, "unit": unit}).fetchone()
        if row[0] < 0:  # cannot happen: raw_refuse raised in the statement
            raise AssertionError("negative stock committed")

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


def below_min_share(postings, earlier_postings) -> float:
    """Which share of these postings leave the item's site total below MIN_LEVEL (alert work follows), after
    the earlier postings on the same organization."""
    totals: dict[int, int] = {}
    for item_index, _, qty in earlier_postings:
        totals[item_index] = totals.get(item_index, 0) + qty
    below = 0
    for item_index, _, qty in postings:
        totals[item_index] = totals.get(item_index, 0) + qty
        below += totals[item_index] < MIN_LEVEL
    return below / len(postings)


# --------------------------------------------------------------------- statements and time in the database

@contextlib.contextmanager
def recording():
    """Every statement the stocktrace side sends in this process, with the time spent sending it: Django's
    (its execute wrapper) and those `pg_execute` sends on its own psycopg cursor (`stocktrace.core.db._run`
    wrapped, which Django's wrappers never see); also the time in COMMIT (the connection's `_commit`) and in
    `level_alerts_check` (its statements included)."""
    from django.db import connections

    from stocktrace.core import db as core_db
    from stocktrace.inventory.services import ledger

    connection = connections["default"]
    rec = {"statements": [], "statement_s": 0.0, "commit_s": 0.0, "commits": 0, "alerts_s": 0.0}
    clock = time.perf_counter

    def django_execute(execute, sql, params, many, context):
        t = clock()
        try:
            return execute(sql, params, many, context)
        finally:
            rec["statement_s"] += clock() - t
            rec["statements"].append(("django", sql))

    run, commit, alerts = core_db._run, connection._commit, ledger.level_alerts_check

    def pg_run(sql, params):
        t = clock()
        try:
            return run(sql, params)
        finally:
            rec["statement_s"] += clock() - t
            rec["statements"].append(("pg_execute", sql))

    def timed_commit():
        t = clock()
        try:
            return commit()
        finally:
            rec["commit_s"] += clock() - t
            rec["commits"] += 1

    def timed_alerts(**kwargs):
        t = clock()
        try:
            return alerts(**kwargs)
        finally:
            rec["alerts_s"] += clock() - t

    core_db._run, connection._commit, ledger.level_alerts_check = pg_run, timed_commit, timed_alerts
    try:
        with connection.execute_wrapper(django_execute):
            yield rec
    finally:
        core_db._run, ledger.level_alerts_check = run, alerts
        del connection._commit  # back to the class's method


def statements_of_one_posting(poster: StPoster, item_index: int, location_index: int) -> list[tuple[str, str]]:
    with recording() as rec:
        poster.post(item_index, location_index, 1)
    return rec["statements"]


def time_split(poster: StPoster, postings) -> dict:
    """Per posting, in us: wall, inside the statements (Django's and pg_execute's), inside COMMIT, inside
    level_alerts_check; and the statements per posting."""
    began = time.perf_counter()
    with recording() as rec:
        for p in postings:
            poster.post(*p)
    wall = time.perf_counter() - began
    n = len(postings)
    return {"wall": wall / n * 1e6, "statements_us": rec["statement_s"] / n * 1e6, "commit": rec["commit_s"] / n * 1e6,
            "alerts": rec["alerts_s"] / n * 1e6, "statements": len(rec["statements"]) / n, "commits": rec["commits"]}


def print_split(label: str, s: dict) -> None:
    python = s["wall"] - s["statements_us"] - s["commit"]
    print(f"  {label}: {s['wall']:.0f} us per posting ({s['statements']:.2f} statements + COMMIT): "
          f"{s['statements_us']:.0f} us inside the statements ({s['statements_us'] / s['wall']:.0%}), "
          f"{s['commit']:.0f} us in COMMIT ({s['commit'] / s['wall']:.0%}), "
          f"{python:.0f} us Python around them ({python / s['wall']:.0%}); "
          f"level_alerts_check {s['alerts']:.0f} us (its statements included)")


# ------------------------------------------------------------------------------------------ concurrent

def concurrent_worker(side: str, org_id: int, seed: int, n: int, barrier, results) -> None:
    """One of the 2 processes of a side: n receipts on the HOT_PAIRS (item i at location i, i < HOT_PAIRS)."""
    rng = random.Random(seed)
    postings = [(i, i, rng.randint(1, 5)) for i in (rng.randrange(HOT_PAIRS) for _ in range(n))]
    posted = [0] * HOT_PAIRS
    errors = []
    setup_django(DB_NAME)
    org, items, locations = load_org(org_id)
    if side == ST:
        poster = StPoster(org, items, locations)
    elif side == ONE:
        poster = RawOnePoster(psycopg.connect(db_url(DB_NAME), autocommit=True), org, items, locations)
    else:
        poster = RawPoster(psycopg.connect(db_url(DB_NAME), autocommit=True), org, items, locations,
                           product=side == PT)
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

    if side in (ST, ONE, PT):
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
    connection.close()
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

def check_ledger(orgs, expected_movements: dict) -> list[str]:
    """ledger_drift() over all organizations and for each one; the movement count of each organization."""
    from stocktrace.inventory.models import StockMovement
    from stocktrace.inventory.selectors import ledger_drift

    problems = []
    drift = ledger_drift()
    if drift:
        problems.append(f"ledger_drift() is not empty: {drift[:3]}")
    for org in orgs:
        drift = ledger_drift(organization=org)
        if drift:
            problems.append(f"{org.slug}: ledger_drift(organization=...) is not empty: {drift[:3]}")
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


COLUMNS = ((ONE, "raw-1stmt"), (PT, "raw 2-stmt (pt)"), (PLAIN, "raw plain"))


def print_table(title: str, key: str, rows, with_goal: bool) -> None:
    """stocktrace against each raw side, with its ratio (stocktrace / raw). The verdict (>= 50%) is judged
    against the fastest raw side of the row that writes the product's tables (raw-1stmt or raw 2-stmt, among
    those doing at least the goal's work), named in the last column."""
    print(title)
    head = "".join(f" {name:>15} |  ratio |" for _, name in COLUMNS)
    print(f"| {'postings/s':<58} | stocktrace |{head} {'verdict (vs fastest judged side)' if with_goal else '':<32} |")
    print(f"|{'-' * 60}|-----------:|" + "----------------:|-------:|" * len(COLUMNS) + f"{'-' * 34}|")
    for label, st, raws, judged in rows:
        cells = ""
        for side, _ in COLUMNS:
            raw = raws.get(side)
            cells += f" {'':>15} | {'':>6} |" if raw is None else f" {raw[key]:15.0f} | {st[key] / raw[key]:6.1%} |"
        verdict = ""
        if with_goal and judged:
            fastest = max(judged, key=lambda side: raws[side][key])
            share = st[key] / raws[fastest][key]
            verdict = f"{share:.1%} of {dict(COLUMNS)[fastest]}: {'met' if share >= GOAL else 'NOT met'}"
        print(f"| {label:<58} | {st[key]:10.0f} |{cells} {verdict:<32} |")


def compare_alerts(st_org, raw_org) -> list[str]:
    """The open level alerts of the stocktrace `levels` organization and of the raw-1stmt one, by SKU: after
    the same postings they must be the same (kind, severity, quantity, threshold), and so must the number of
    resolved ones."""
    from stocktrace.inventory.models import StockAlert

    def state(org):
        alerts = StockAlert.objects.filter(organization=org).values_list("item__sku", "kind", "severity", "status",
                                                                          "quantity", "threshold")
        open_ = {(sku, kind, severity, quantity, threshold) for sku, kind, severity, status, quantity, threshold
                 in alerts if status != "resolved"}
        return open_, sum(1 for a in alerts if a[3] == "resolved")

    (st_open, st_resolved), (raw_open, raw_resolved) = state(st_org), state(raw_org)
    problems = []
    if st_open != raw_open:
        problems.append(f"open level alerts differ: stocktrace {len(st_open)}, raw-1stmt {len(raw_open)}; first "
                        f"difference {sorted(st_open ^ raw_open)[:2]}")
    if st_resolved != raw_resolved:
        problems.append(f"resolved level alerts differ: stocktrace {st_resolved}, raw-1stmt {raw_resolved}")
    return problems


def audit_rows(org) -> int:
    from stocktrace.audit.models import AuditEvent

    return AuditEvent.objects.filter(organization=org, action="stock.receipt").count()


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
        raw_conn.execute(RAW_REFUSE)
        built = {slug: build_org(slug, level)[0].pk for slug, level in
                 (("plain", None), ("levels", MIN_LEVEL), ("rawplain", None), ("rawlevels", MIN_LEVEL),
                  ("onestmtplain", None), ("onestmtlevels", MIN_LEVEL))}
        setup_s = time.perf_counter() - started
        plain, levels, pt_plain_org, pt_levels_org, one_plain_org, one_levels_org = (
            load_org(pk) for pk in built.values())
        st_plain, st_levels = StPoster(*plain), StPoster(*levels)

        if args.profile:
            st_plain.post(0, 0, 1)
            profile(st_plain, postings_for(args.seed, args.postings))
            print("statements of one posting (new on-hand row):")
            for via, sql in statements_of_one_posting(st_plain, ITEMS - 1, LOCATIONS - 1):
                print(f"   [{via}] {' '.join(sql.split())[:150]}")
            print_split("plain", time_split(st_plain, postings_for(args.seed + 1, 1000)))
            return

        one_plain = RawOnePoster(raw_conn, *one_plain_org)
        one_levels = RawOnePoster(raw_conn, *one_levels_org, levels=True)
        pt_plain = RawPoster(raw_conn, *pt_plain_org, product=True)
        pt_levels = RawPoster(raw_conn, *pt_levels_org, product=True)
        raw_plain = RawPoster(raw_conn, *plain)
        raw_levels = RawPoster(raw_conn, *levels)
        raw_levels_checked = RawPoster(raw_conn, *levels, levels=True, id_offset=10**9)
        orgs = [plain[0], levels[0], pt_plain_org[0], pt_levels_org[0], one_plain_org[0], one_levels_org[0]]
        expected = {org.pk: 0 for org in orgs}  # movements in the product tables, per organization
        plain_sides = {ST: st_plain, ONE: one_plain, PT: pt_plain, PLAIN: raw_plain}
        levels_sides = {ST: st_levels, ONE: one_levels, PT: pt_levels, PLAIN: raw_levels,
                        PLAIN_LEVELS: raw_levels_checked}

        # warm-up: first use of each code path and statement, untimed (but checked at the end like the rest)
        warm = postings_for(args.seed + 100, WARMUP)
        run_interleaved(warm, plain_sides, WARMUP)
        run_interleaved(warm, levels_sides, WARMUP)
        for org in orgs:
            expected[org.pk] += WARMUP

        postings = postings_for(args.seed, args.postings)
        result_plain = run_interleaved(postings, plain_sides, args.block)
        # levels: the same receipts on the `levels` organizations, against every raw side (each on its own
        # rows, so each sees the same running totals as stocktrace)
        result_levels = run_interleaved(postings, levels_sides, args.block)
        for org in orgs:
            expected[org.pk] += len(postings)
        below = below_min_share(postings, warm)
        # the same postings on both: stocktrace's alerts and the one-statement raw side's must agree
        problems = compare_alerts(levels[0], one_levels_org[0])
        audits = {org.slug: audit_rows(org) for org in (plain[0], levels[0], one_plain_org[0], one_levels_org[0])}

        stmts_new = statements_of_one_posting(st_plain, ITEMS - 1, LOCATIONS - 1)
        stmts_existing = statements_of_one_posting(st_plain, ITEMS - 1, LOCATIONS - 1)
        stmts_low = statements_of_one_posting(st_levels, ITEMS - 1, LOCATIONS - 1)  # total far below 20
        expected[plain[0].pk] += 2
        expected[levels[0].pk] += 1
        split_plain = time_split(st_plain, postings_for(args.seed + 200, 500))
        expected[plain[0].pk] += 500
        split_postings = postings_for(args.seed + 300, 500)
        split_levels = time_split(st_levels, split_postings)
        expected[levels[0].pk] += 500
        split_below = below_min_share(split_postings, warm + postings + [(ITEMS - 1, LOCATIONS - 1, 1)])

        side_orgs = {ST: plain, ONE: one_plain_org, PT: pt_plain_org, PLAIN: plain}
        rounds = {side: [] for side in side_orgs}
        for _ in range(args.concurrent_rounds):
            for side, org in side_orgs.items():
                rounds[side].append(run_concurrent(side, *org, args.concurrent_postings))
        concurrent = {side: {"rate": statistics.median(r["rate"] for r in runs), "ok": sum(r["ok"] for r in runs),
                             "errors": [e for r in runs for e in r["errors"]],
                             "lost": [i for r in runs for i in r["lost"]],
                             "posted": sum(r["posted"] for r in runs), "gained": sum(r["gained"] for r in runs),
                             "rates": [r["rate"] for r in runs]}
                      for side, runs in rounds.items()}
        expected[plain[0].pk] += concurrent[ST]["ok"]
        expected[one_plain_org[0].pk] += concurrent[ONE]["ok"]
        expected[pt_plain_org[0].pk] += concurrent[PT]["ok"]
        expected_raw = {plain[0].pk: WARMUP + len(postings) + concurrent[PLAIN]["ok"],
                        levels[0].pk: 2 * (WARMUP + len(postings))}  # raw and raw+levels (offset ids)

        problems += check_ledger(orgs, expected) + check_raw(raw_conn, expected_raw)
        for slug, count in audits.items():
            if count != WARMUP + len(postings):
                problems.append(f"{slug}: {count} stock.receipt audit rows after the timed postings, expected "
                                f"{WARMUP + len(postings)}")
        raw_conn.close()
        total_s = time.perf_counter() - started

        print(f"\nmachine: {machine()}")
        print(f"N = {len(postings)} single receipts per side and variant, {ITEMS} items x {LOCATIONS} locations, one "
              f"site; alternating blocks of {args.block}; set-up {setup_s:.0f} s, whole run {total_s:.0f} s")
        print()
        blocks = result_plain[ST]["blocks"]
        c = concurrent
        rows = [
            ("single receipts, items without levels", result_plain[ST],
             {ONE: result_plain[ONE], PT: result_plain[PT], PLAIN: result_plain[PLAIN]}, [ONE, PT]),
            ("single receipts, items with min level", result_levels[ST],
             {ONE: result_levels[ONE], PT: result_levels[PT], PLAIN: result_levels[PLAIN]}, [ONE]),
            ("  same, vs plain raw + level check + alert upsert", result_levels[ST],
             {PLAIN: result_levels[PLAIN_LEVELS]}, []),
        ]
        concurrent_row = (f"concurrent: 2 procs x {args.concurrent_postings}, {HOT_PAIRS} hot pairs, median of "
                          f"{args.concurrent_rounds}", c[ST], {ONE: c[ONE], PT: c[PT], PLAIN: c[PLAIN]}, [ONE, PT])
        print_table(f"postings/s, median of the {blocks} blocks' rates per side (the ratio judged). raw-1stmt = one "
                    "autocommitted statement per posting doing stocktrace's work (with levels: the level check and "
                    "alert work too); raw 2-stmt (pt) = BEGIN, movement INSERT, on-hand upsert, COMMIT on the "
                    "product tables, no audit row, no alert work; raw plain = the same 2 statements on plain tables "
                    "(with min level: no alert work; the row below: with it):",
                    "rate", [*rows, concurrent_row], with_goal=True)
        print()
        print_table("postings/s, whole run (total postings / total time; stalls from other work drag it down):",
                    "wall_rate", rows, with_goal=False)
        print()
        print(f"| {'latency per posting, us':<48} | p50 st | p50 1stmt | p50 2stmt | p50 plain | p99 st | p99 1stmt "
              f"| p99 2stmt | p99 plain |")
        print(f"|{'-' * 50}|-------:|----------:|----------:|----------:|-------:|----------:|----------:|----------:|")
        for label, res, plain_key in (("without levels", result_plain, PLAIN),
                                      ("with min level", result_levels, PLAIN),
                                      ("with min level, plain raw + level check", result_levels, PLAIN_LEVELS)):
            print(f"| {label:<48} | {res[ST]['p50_us']:6.0f} | {res[ONE]['p50_us']:9.0f} | {res[PT]['p50_us']:9.0f} | "
                  f"{res[plain_key]['p50_us']:9.0f} | {res[ST]['p99_us']:6.0f} | {res[ONE]['p99_us']:9.0f} | "
                  f"{res[PT]['p99_us']:9.0f} | {res[plain_key]['p99_us']:9.0f} |")
        print()
        print(f"round trips per posting: stocktrace BEGIN + statements + COMMIT, with statements (Django's and "
              f"pg_execute's) = {len(stmts_new)} for a new on-hand row, {len(stmts_existing)} for an existing one, "
              f"{len(stmts_low)} for an item below its minimum (alert refreshed); raw-1stmt: 1 (autocommit, with or "
              f"without levels); raw 2-stmt and raw plain: BEGIN + 2 + COMMIT (plain raw + level check: + 2-3); "
              f"{below:.0%} of the timed `levels` receipts left their item below the minimum")
        for via, sql in stmts_existing:
            print(f"    [{via}] {' '.join(sql.split())[:150]}")
        print("  and for an item below its minimum, in addition (level_alerts_check -> alert_raise):")
        plain_heads = {sql[:40] for _, sql in stmts_existing}
        for via, sql in stmts_low:
            if sql[:40] not in plain_heads:
                print(f"    [{via}] {' '.join(sql.split())[:150]}")
        print("time per posting (500 more postings per variant, statements and COMMIT timed):")
        print_split("without levels", split_plain)
        print_split(f"with min level ({split_below:.0%} of them left their item below the minimum)", split_levels)
        for side, cs in concurrent.items():
            print(f"concurrent {side}: rounds {', '.join(f'{r:.0f}' for r in cs['rates'])} postings/s; "
                  f"{cs['ok']} postings ok, {len(cs['errors'])} failed, posted {cs['posted']}, "
                  f"on-hand gained {cs['gained']} -> {'no lost updates' if not cs['lost'] else 'LOST UPDATES'}"
                  + (f"; first error: {cs['errors'][0]}" if cs["errors"] else ""))
        print("correctness: " + ("ledger_drift() empty over all organizations and for each of "
                                 f"{', '.join(o.slug for o in orgs)}; movement counts match "
                                 f"({', '.join(f'{o.slug} {expected[o.pk]}' for o in orgs)}); one stock.receipt audit "
                                 f"row per timed posting ({', '.join(f'{k} {v}' for k, v in audits.items())}); "
                                 "open and resolved level alerts of stocktrace and raw-1stmt identical; plain raw "
                                 "ledger matches" if not problems else ""))
        for problem in problems:
            print(f"  PROBLEM: {problem}")
        if problems or any(cs["lost"] or cs["errors"] for cs in concurrent.values()):
            sys.exit(1)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)


if __name__ == "__main__":
    main()
