import json as jsonlib
import sys

from django.core.management.base import BaseCommand

from stocktrace.ops.preflight import CHECKS, preflight


class Command(BaseCommand):
    group = "Set up"
    help = "Integrity checks before a deploy: exits 1 when an error-level check finds something."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--check", action="append", choices=[c.name for c in CHECKS],
                            help="run only this check (repeatable)")
        parser.add_argument("--strict", action="store_true", help="warnings fail too")

    def handle(self, *args, check, strict: bool, **options):
        as_json = options["json"]
        report = preflight(only=check)
        failed = [r for r in report if not r["ok"] and (r["level"] == "error" or strict)]
        if as_json:
            self.stdout.write(_dumps({"ok": not failed, "checks": report}))
        else:
            for result in report:
                mark = "ok  " if result["ok"] else ("FAIL" if result["level"] == "error" else "warn")
                self.stdout.write(f"[{mark}] {result['check']}: {result['description']}")
                for finding in result["findings"][:20]:
                    self.stdout.write("         " + ", ".join(f"{k}={v}" for k, v in finding.items()))
                if len(result["findings"]) > 20:
                    self.stdout.write(f"         … and {len(result['findings']) - 20} more")
        if failed:
            sys.exit(1)


def _dumps(value) -> str:
    return jsonlib.dumps(value, indent=2, default=str)
