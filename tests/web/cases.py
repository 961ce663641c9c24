"""The web app's own pages (tests/cases.py describes the convention)."""

from tests.cases import Page

PAGES: dict[str, Page] = {
    "home": Page(),
}


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "home": 6,
}
