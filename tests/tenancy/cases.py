"""The tenancy app's API endpoints and pages (tests/cases.py describes the convention)."""

from tests.cases import Case, Page

API_CASES: dict[str, Case] = {
    "GET /me": Case(),
    "GET /organizations": Case(),
    "GET /organization": Case(),
    "PATCH /organization": Case(body=lambda *a: {"name": "Renamed Org"}, audit_action="organization.update"),
}

PAGES: dict[str, Page] = {
    "organization": Page(),
}
