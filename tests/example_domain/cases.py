"""The example domain's cases for the generated tests, as any app registers them (tests/cases.py)."""

from tests.cases import Case, Page

API_CASES: dict[str, Case] = {"POST /example/ping": Case(audit_action="example.ping")}
PAGES: dict[str, Page] = {"example": Page()}
QUERY_BUDGETS: dict[str, int] = {"example": 6}
