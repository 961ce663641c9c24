"""The audit app's API endpoints and pages (tests/cases.py describes the convention)."""

from tests.cases import Case, Page

API_CASES: dict[str, Case] = {
    "GET /audit": Case(),
}

PAGES: dict[str, Page] = {
    "audit": Page(),
}
