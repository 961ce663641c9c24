"""Bulk import of items on PostgreSQL: stocktrace's import service against a raw psycopg COPY, in the same run.

    .venv/bin/python bench/import_items.py [--rows 1000000] [--keep]

What it does (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth):

1. Writes an items CSV of N rows (sku, name, unit, unit_cost, min_level, max_level, tracks_lots,
   tracks_expiry, barcodes: one valid EAN-13 per item) into a temporary folder.
2. Drops and creates the scratch database `st_bench_imports` (psycopg on the `postgres` database)
   and migrates it with `stocktrace migrate`.
3. stocktrace side, in a child process (so its peak RSS is the import's own, read from getrusage in the
   child): Django set-up, one organization, then
     - `import_check` (the dry run: every row parsed, checked against the database, nothing written), and
     - `import_file_apply` (what `stocktrace import items FILE --apply` does: the check again, then one
       transaction that checks and writes batch by batch with bulk inserts, plus the run and audit rows).
   It verifies the counts of items and barcodes afterwards.
4. raw side: `COPY bench_items FROM STDIN (FORMAT csv, HEADER)` of the same file, streamed through psycopg
   into a plain table with the same columns (no index, no constraint, no validation): the floor; then again
   into the same table with unique indexes on sku and barcodes (what uniqueness alone costs).
5. Prints a table: seconds, rows/s and peak RSS for each, and the ratio raw / stocktrace.

Not part of the test suite. Drops the scratch database at the end (`--keep` keeps it). Set
STOCKTRACE_BENCH_DB to use another scratch database name (two people benchmarking on one server).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = bench_db("imports")
DB_URL = f"{SERVER}/{DB_NAME}"
BIN = Path(sys.executable).parent
HEADER = "sku,name,unit,unit_cost,min_level,max_level,tracks_lots,tracks_expiry,barcodes\n"


def ean13(n: int) -> str:
    body = f"20{n:010d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def write_file(path: Path, rows: int) -> None:
    units = ("ea", "kg", "box", "l")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        chunk = []
        for n in range(1, rows + 1):
            low = n % 50
            chunk.append(f"SKU-{n:08d},Item number {n} \u2013 bench,{units[n % 4]},{n % 997}.{n % 100:02d},"
                         f"{low},{low + 100}.5,{'true' if n % 7 == 0 else 'false'},"
                         f"{'true' if n % 11 == 0 else 'false'},{ean13(n)}\n")
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))


def admin_connect():
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


def create_database() -> None:
    with admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def child_env(data_dir: Path) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": DB_URL,
            "STOCKTRACE_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
            "LOG_LEVEL": "WARNING", "LOG_FORMAT": "console"}


def migrate(data_dir: Path) -> None:
    subprocess.run([str(BIN / "stocktrace"), "migrate", "-v", "0"], check=True, cwd=ROOT, env=child_env(data_dir))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def child(path: Path, rows: int) -> None:
    """Runs in the child process: the stocktrace side. Prints one JSON line."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from stocktrace.imports.services import import_check, import_file_apply
    from stocktrace.inventory.models import Item, ItemBarcode
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.models import Organization

    org = Organization.objects.create(name="Bench", slug="bench")
    actor = Actor.system(org, device="bench")
    baseline = peak_rss_mb()

    started = time.perf_counter()
    outcome = import_check(actor=actor, kind="items", path=path, fmt="csv")
    check_seconds = time.perf_counter() - started
    assert outcome.clean and outcome.rows_total == rows, outcome.errors[:5]
    check_rss = peak_rss_mb()

    phases = {}

    def progress(phase, done, total):
        phases.setdefault(phase, time.perf_counter())

    started = time.perf_counter()
    run = import_file_apply(actor=actor, kind="items", path=path, fmt="csv", on_progress=progress)
    apply_seconds = time.perf_counter() - started
    assert run.status == "applied", (run.status, run.message, run.errors[:5])
    items = Item.objects.filter(organization=org).count()
    barcodes = ItemBarcode.objects.filter(organization=org).count()
    assert items == rows and barcodes == rows, (items, barcodes)
    print(json.dumps({
        "baseline_rss_mb": baseline, "check_seconds": check_seconds, "check_rss_mb": check_rss,
        "apply_seconds": apply_seconds, "peak_rss_mb": peak_rss_mb(),
        # the apply's own check pass ends where its first "applying" progress report begins (~5,000 rows in)
        "apply_write_pass_seconds": (started + apply_seconds - phases["applying"]) if "applying" in phases
        else None,
        "result": run.result,
    }))


def raw_copy(path: Path, *, unique: bool = False) -> tuple[float, float]:
    started = time.perf_counter()
    with psycopg.connect(DB_URL) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_items")
        conn.execute("""CREATE TABLE bench_items (sku varchar(64), name varchar(200), unit varchar(16),
            unit_cost numeric(18, 4), min_level numeric(18, 3), max_level numeric(18, 3), tracks_lots boolean,
            tracks_expiry boolean, barcodes text)""")
        if unique:
            conn.execute("CREATE UNIQUE INDEX ON bench_items (sku)")
            conn.execute("CREATE UNIQUE INDEX ON bench_items (barcodes)")
        with conn.cursor() as cur, cur.copy("COPY bench_items FROM STDIN (FORMAT csv, HEADER)") as copy, \
                path.open("rb") as source:
            while data := source.read(1024 * 1024):
                copy.write(data)
        count = conn.execute("SELECT count(*) FROM bench_items").fetchone()[0]
    seconds = time.perf_counter() - started
    return seconds, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.rows)
        return

    with tempfile.TemporaryDirectory(prefix="stocktrace-bench-import-") as folder:
        folder = Path(folder)
        path = folder / "items.csv"
        started = time.perf_counter()
        write_file(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        create_database()
        try:
            migrate(folder / "data")
            print("stocktrace import …", file=sys.stderr)
            done = subprocess.run([sys.executable, __file__, "--child", str(path), "--rows", str(args.rows)],
                                  check=True, cwd=ROOT, env=child_env(folder / "data"), capture_output=True,
                                  text=True)
            st = json.loads(done.stdout.strip().splitlines()[-1])
            print("raw COPY …", file=sys.stderr)
            copy_seconds, copied = raw_copy(path)
            assert copied == args.rows, copied
            indexed_seconds, copied = raw_copy(path, unique=True)
            assert copied == args.rows, copied
        finally:
            if not args.keep:
                drop_database()

    rows = args.rows
    lines = [
        ("stocktrace check (dry run)", st["check_seconds"], st["check_rss_mb"]),
        ("stocktrace apply (check + write)", st["apply_seconds"], st["peak_rss_mb"]),
        ("raw COPY (plain table)", copy_seconds, peak_rss_mb()),
        ("raw COPY (unique sku, barcode)", indexed_seconds, peak_rss_mb()),
    ]
    if st["apply_write_pass_seconds"]:
        lines.insert(2, ("  of which the write pass", st["apply_write_pass_seconds"], st["peak_rss_mb"]))
    print(f"\nitems import, {rows:,} rows, PostgreSQL at 127.0.0.1 "
          f"(stocktrace child RSS after Django set-up: {st['baseline_rss_mb']:.0f} MB)\n")
    print(f"| {'what':<34} | {'seconds':>8} | {'rows/s':>9} | {'peak RSS MB':>11} | {'raw COPY is x faster':>20} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 11}|{'-' * 13}|{'-' * 22}|")
    for name, seconds, rss in lines:
        print(f"| {name:<34} | {seconds:>8.1f} | {rows / seconds:>9,.0f} | {rss:>11.0f} | "
              f"{seconds / copy_seconds:>20.1f} |")
    print(f"\nresult: {st['result']}")


if __name__ == "__main__":
    main()
