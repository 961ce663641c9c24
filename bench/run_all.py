"""Every hot-path benchmark back to back, with modest sizes, then their ratio lines: the whole set in one command.

    .venv/bin/python bench/run_all.py                 # about 8-10 minutes on the 2-CPU VM
    .venv/bin/python bench/run_all.py --only ledger lookup
    .venv/bin/python bench/run_all.py --full          # each benchmark with its own defaults (longer)

Runs, one after the other (never two at once: they would measure each other), jobs, webhook intake, scan lookup,
ledger posting, item import and counts (batch sync, single scans, completion, at its --quick sizes), each as its
own process with the sizes below, and keeps each one's whole output in a log folder (printed at the start and the
end). As each finishes it prints its ratio lines; at the end it
prints them all again, with each benchmark's exit status. A benchmark that fails (wrong answers, refusals, lost
payloads, ledger drift, a crash) does not stop the others, but the run exits non-zero and says which.

Compare ratios within one run only: the machine is shared and absolute rates drift from hour to hour.
Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth); each benchmark creates and drops its own
`st_bench_*` database. Results go into docs/performance.md by hand, with the date, the time and the command.
"""

import argparse
import datetime
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TIMEOUT = 20 * 60  # per benchmark; each stops by itself well before

# name, script, modest arguments, lines worth printing (regular expressions, matched at the start of a line)
BENCHMARKS = [
    ("jobs", "jobs_throughput.py", ["--jobs", "3000", "--runs", "3"],
     [r"\| jobs/s, wall \(median\)", r"\| jobs/s, steady-state", r"\| start-up of", r"goal, ", r"start-up measured",
      r"load average", r"for comparison, in the same run"]),
    ("webhooks", "webhooks_accept.py", ["--seconds", "3", "--rounds", "3"],
     [r"median ratio", r"refused or failed", r"payloads stored", r"FLAGGED"]),
    ("lookup", "barcode_lookup.py", ["--items", "50000", "--requests", "1000", "--seconds", "3"],
     [r"\| ratio", r"p50 goal", r"ratio lookup / healthz:", r"correctness", r"  WRONG", r"FAILED"]),
    ("ledger", "ledger_posting.py", ["--postings", "2000", "--concurrent-postings", "500"],
     [r"\| single receipts", r"\|   same, vs plain", r"\| concurrent", r"correctness", r"  PROBLEM"]),
    ("import", "import_items.py", ["--rows", "200000"],
     [r"\| stocktrace", r"\|   of which", r"\| raw COPY"]),
    ("counts", "counts.py", ["--quick"],
     [r"\| ratio", r"sync goal", r"scans goals", r"completion goal", r"  WRONG", r"  ERROR", r"  PROBLEM"]),
]


def run(name: str, script: str, argv: list[str], patterns: list[str], logs: Path) -> tuple[int, list[str], float]:
    log = logs / f"{name}.txt"
    command = [sys.executable, str(BENCH / script), *argv]
    print(f"\n== {name}: {' '.join(['.venv/bin/python', f'bench/{script}', *argv])} "
          f"(started {datetime.datetime.now(datetime.UTC):%H:%M:%S} UTC, load {os.getloadavg()[0]:.2f}; "
          f"log {log})", flush=True)
    started = time.perf_counter()
    with log.open("w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the benchmark and the servers it started
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
            out.write(f"\nrun_all: stopped after {TIMEOUT} s\n")
    seconds = time.perf_counter() - started
    wanted = re.compile("|".join(f"(?:{p})" for p in patterns))
    text = log.read_text(errors="replace").splitlines()
    lines = list(dict.fromkeys(line for line in text if wanted.match(line)))  # each once, in order
    if code:
        lines += [f"EXIT STATUS {code}; last lines of the log:", *text[-8:]]
    for line in lines:
        print(f"  {line}")
    print(f"  ({name}: {seconds:.0f} s, exit status {code})", flush=True)
    return code, lines, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=[b[0] for b in BENCHMARKS], help="run only these")
    parser.add_argument("--full", action="store_true", help="each benchmark with its own default sizes")
    parser.add_argument("--logs", help="folder for the full outputs (default: a new one under /tmp)")
    args = parser.parse_args()

    logs = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(prefix="stocktrace-bench-all-"))
    logs.mkdir(parents=True, exist_ok=True)
    began = datetime.datetime.now(datetime.UTC)
    print(f"stocktrace benchmarks, {began:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; full outputs in {logs}")
    outcomes = {}
    for name, script, argv, patterns in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        outcomes[name] = run(name, script, [] if args.full else argv, patterns, logs)

    print(f"\n==== summary, run started {began:%Y-%m-%d %H:%M} UTC, ended "
          f"{datetime.datetime.now(datetime.UTC):%H:%M} UTC (compare ratios within this run only) ====")
    for name, (code, lines, seconds) in outcomes.items():
        print(f"\n{name} ({seconds:.0f} s, {'ok' if code == 0 else f'FAILED, exit status {code}'}):")
        for line in lines:
            print(f"  {line}")
    failed = [name for name, (code, _, _) in outcomes.items() if code]
    print(f"\nfull outputs: {logs}")
    if failed:
        sys.exit(f"FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
