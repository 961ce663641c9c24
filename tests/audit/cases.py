"""The audit app's API endpoints and pages (tests/cases.py describes the convention)."""

from tests.cases import Case, Page

API_CASES: dict[str, Case] = {
    "GET /audit": Case(),
}

PAGES: dict[str, Page] = {
    "audit": Page(),
}


# The audit log grows with every other app's make_rows (their services write audit rows).
# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /audit": 4,
    "audit": 5,
}
