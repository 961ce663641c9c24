#!/usr/bin/env bash
# The API fuzz tests of the suite (tests/api/test_api_fuzz.py) with a random search instead of the fixed
# examples CI replays: STOCKTRACE_FUZZ_EXAMPLES examples per operation and per stateful run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=config.settings_test STOCKTRACE_FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-500}
exec "${VENV:-.venv}/bin/pytest" -q -n "${PYTEST_WORKERS:-2}" -p no:randomly tests/api/test_api_fuzz.py "$@"
