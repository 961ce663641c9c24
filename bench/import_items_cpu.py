"""CPU seconds (user + system, this process) of an items import's check and apply, for comparing two checkouts
of stocktrace on a machine whose load varies: wall-clock time there measures the neighbours as much as the
code, CPU time much less. Prints one JSON line.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch, migrated> DJANGO_SETTINGS_MODULE=config.settings \
    SECRET_KEY=... STOCKTRACE_DATA_DIR=/tmp/x [CHECK_ONLY=1] \
    .venv/bin/python bench/import_items_cpu.py <checkout> <items.csv from bench/import_items.py>

Run the two checkouts alternately (before, after, after, before, …) against the same database: each run
imports into a new organization.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    root, path = sys.argv[1], Path(sys.argv[2])
    sys.path.insert(0, root)
    os.chdir(root)
    import django

    django.setup()
    import stocktrace
    from stocktrace.imports.services import import_check, import_file_apply
    from stocktrace.tenancy.actor import Actor
    from stocktrace.tenancy.models import Organization

    assert stocktrace.__file__.startswith(root), stocktrace.__file__  # the checkout asked for, not the venv's
    org = Organization.objects.create(name=f"Cpu {time.time()}", slug=f"cpu-{int(time.time() * 1000)}")
    actor = Actor.system(org, device="bench")
    steps = (("check", lambda: import_check(actor=actor, kind="items", path=path, fmt="csv")),
             ("apply", lambda: import_file_apply(actor=actor, kind="items", path=path, fmt="csv")))
    out = {}
    for name, step in steps[:1 if os.environ.get("CHECK_ONLY") else 2]:
        wall, cpu = time.perf_counter(), cpu_seconds()
        step()
        out[f"{name}_wall"] = round(time.perf_counter() - wall, 2)
        out[f"{name}_cpu"] = round(cpu_seconds() - cpu, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
