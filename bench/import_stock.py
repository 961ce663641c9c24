"""Bulk import of opening stock on PostgreSQL: stocktrace's import service, timed, and a raw COPY of the same file.

    .venv/bin/python bench/import_stock.py [--rows 200000] [--keep]

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth; scratch database from
STOCKTRACE_BENCH_DB, else `stocktrace_bench_stock`):

1. Creates and migrates the scratch database, then (not timed) one organization, one site WH1, 200 bins and
   rows / 200 items through the locations and items imports. One item in 7 is lot-tracked with expiry
   (lots L0–L2), one in 10 has a minimum and maximum level.
2. Writes a stock CSV of N rows: row n puts item n mod I at bin n div I (so each item × bin × lot once).
3. Times `import_check` (the dry run) and `import_file_apply` (the check again, then one transaction that
   checks and writes batch by batch through the ledger, then the level alerts), in a child process, and
   verifies the receipts and that on-hand equals the ledger.
4. Times a raw `COPY` of the same file into a plain table (the floor) and prints a table with the ratio.

Not part of the test suite. Drops the scratch database at the end (`--keep` keeps it).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_items as common  # noqa: E402  (the items benchmark's database and process helpers)

DB_NAME = os.environ.get("STOCKTRACE_BENCH_DB", "stocktrace_bench_stock")
common.DB_NAME = DB_NAME
common.DB_URL = f"{common.SERVER}/{DB_NAME}"
LOCATIONS = 200


def shape(rows: int) -> int:
    return max(1, rows // LOCATIONS)  # items


def write_files(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    items = shape(rows)
    locations_csv, items_csv, stock_csv = folder / "locations.csv", folder / "items.csv", folder / "stock.csv"
    locations_csv.write_text("site_code,code\n" + "".join(f"WH1,B-{n:04d}\n" for n in range(LOCATIONS)))
    with items_csv.open("w") as out:
        out.write("sku,name,min_level,max_level,tracks_lots,tracks_expiry\n")
        for n in range(items):
            lots = "true" if n % 7 == 0 else "false"
            levels = "100,100000" if n % 10 == 0 else ","
            out.write(f"S-{n:07d},Stock item {n},{levels},{lots},{lots}\n")
    with stock_csv.open("w") as out:
        out.write("site_code,location_code,sku,quantity,lot,expires_on,unit_cost\n")
        chunk = []
        for n in range(rows):
            item, location = n % items, n // items
            lot, expiry = (f"L{location % 3}", f"2030-0{1 + item % 9}-15") if item % 7 == 0 else ("", "")
            chunk.append(f"WH1,B-{location:04d},S-{item:07d},{1 + n % 50}.5,{lot},{expiry},\n")
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    return locations_csv, items_csv, stock_csv


def child(folder: Path, rows: int) -> None:
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from stocktrace.accounts.services import site_create
    from stocktrace.imports.services import import_check, import_file_apply
    from stocktrace.inventory.models import OnHand, StockMovement
    from stocktrace.inventory.selectors import ledger_drift
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.models import Organization

    org = Organization.objects.create(name="Bench", slug="bench")
    actor = Actor.system(org, device="bench")
    site_create(actor=actor, code="WH1", name="Warehouse 1")
    for kind in ("locations", "items"):
        run = import_file_apply(actor=actor, kind=kind, path=folder / f"{kind}.csv", fmt="csv")
        assert run.status == "applied", (kind, run.status, run.message, run.errors[:5])
    path = folder / "stock.csv"

    started = time.perf_counter()
    outcome = import_check(actor=actor, kind="stock", path=path, fmt="csv")
    check_seconds = time.perf_counter() - started
    assert outcome.clean and outcome.rows_total == rows, outcome.errors[:5]

    started = time.perf_counter()
    run = import_file_apply(actor=actor, kind="stock", path=path, fmt="csv")
    apply_seconds = time.perf_counter() - started
    assert run.status == "applied", (run.status, run.message, run.errors[:5])
    assert StockMovement.objects.filter(organization=org).count() == rows
    assert OnHand.objects.filter(organization=org).count() == rows
    assert ledger_drift(organization=org) == []
    print(json.dumps({"check_seconds": check_seconds, "apply_seconds": apply_seconds,
                      "peak_rss_mb": common.peak_rss_mb(), "result": run.result}))


def raw_copy(path: Path) -> float:
    started = time.perf_counter()
    with psycopg.connect(common.DB_URL) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_stock")
        conn.execute("""CREATE TABLE bench_stock (site_code text, location_code text, sku text,
            quantity numeric(18, 3), lot text, expires_on date, unit_cost numeric(18, 4))""")
        with conn.cursor() as cur, cur.copy("COPY bench_stock FROM STDIN (FORMAT csv, HEADER)") as copy, \
                path.open("rb") as source:
            while data := source.read(1024 * 1024):
                copy.write(data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.rows)
        return
    with tempfile.TemporaryDirectory(prefix="stocktrace-bench-stock-") as folder:
        folder = Path(folder)
        write_files(folder, args.rows)
        common.create_database()
        try:
            common.migrate(folder / "data")
            done = subprocess.run([sys.executable, __file__, "--child", str(folder), "--rows", str(args.rows)],
                                  check=True, cwd=common.ROOT, env=common.child_env(folder / "data"),
                                  capture_output=True, text=True)
            st = json.loads(done.stdout.strip().splitlines()[-1])
            copy_seconds = raw_copy(folder / "stock.csv")
        finally:
            if not args.keep:
                common.drop_database()
    rows = args.rows
    print(f"\nstock import, {rows:,} rows ({shape(rows):,} items × {LOCATIONS} bins), PostgreSQL at 127.0.0.1\n")
    print(f"| {'what':<34} | {'seconds':>8} | {'rows/s':>9} | {'peak RSS MB':>11} | {'raw COPY is x faster':>20} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 11}|{'-' * 13}|{'-' * 22}|")
    for name, seconds in (("stocktrace check (dry run)", st["check_seconds"]),
                          ("stocktrace apply (check + write)", st["apply_seconds"]),
                          ("raw COPY (plain table)", copy_seconds)):
        print(f"| {name:<34} | {seconds:>8.1f} | {rows / seconds:>9,.0f} | {st['peak_rss_mb']:>11.0f} | "
              f"{seconds / copy_seconds:>20.1f} |")
    print(f"\nresult: {st['result']}")


if __name__ == "__main__":
    main()
