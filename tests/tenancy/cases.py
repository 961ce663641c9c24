"""The tenancy app's API endpoints and pages (tests/cases.py describes the convention)."""

import itertools

from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.roles import Role
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


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /organizations": 4,
    "organization": 4,
}

_serial = itertools.count(1)


def make_rows(tenant, count: int) -> None:
    """More organizations the tenant's admin belongs to (the switcher and GET /organizations list them)."""
    for _ in range(count):
        n = next(_serial)
        organization = Organization.objects.create(name=f"Other Org {n}", slug=f"other-{tenant.name}-{n}")
        Membership.objects.create(organization=organization, user=tenant.user(Role.ADMIN), role=Role.VIEWER)
