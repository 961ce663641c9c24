"""Adding a domain needs its own folder and one line in settings: tests/example_domain is such an app, and its
checks run in a process of their own with it installed (an app cannot join a running Django)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_app_added_with_one_settings_line_has_its_permission_event_endpoint_and_page_found(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.example_domain.settings",
           "STOCKTRACE_DATA_DIR": str(tmp_path / "var")}
    env.pop("PYTEST_XDIST_WORKER", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
         "--ds=tests.example_domain.settings", "tests/example_domain/checks.py",
         # The generated tests pick up its endpoint and page from its cases.py like any app's.
         "tests/api/test_api_matrix.py", "tests/web/test_web_pages.py", "tests/web/test_page_query_budgets.py",
         "-k", "example or every or registered or collected"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = int(run.stdout.rsplit(" passed", 1)[0].rsplit("\n", 1)[-1].split()[-1])
    assert passed >= 30, run.stdout[-2000:]
