"""The web app's own pages (tests/cases.py describes the convention)."""

from tests.cases import Page

PAGES: dict[str, Page] = {
    "home": Page(),
}
