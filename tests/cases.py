"""How the generated tests call every API endpoint and every page. Each app registers its own cases.

Convention: the tests of an installed app `stocktrace.<label>` live in `tests/<label>/`, and its
`tests/<label>/cases.py`, if there is one, may define:

- `API_CASES: dict[str, Case]`: "METHOD /path" as the API documents it (e.g. "GET /items/{item_id}") →
  how to call that endpoint. tests/api/test_api_matrix.py checks every endpoint against the role matrix,
  other tenants' ids (404, nothing changed), other tenants' data (never shown) and the audit log.
- `PAGES: dict[str, Page]`: URL name in the `web` namespace (e.g. "item") → how to request that page.
  tests/web/test_web_pages.py checks every page against the role matrix, other tenants' ids and logins.
- `QUERY_BUDGETS: dict[str, int]`: "GET /path" of a list endpoint, or a page's URL name → the most queries
  it may make (tests/api/test_api_query_budgets.py, tests/web/test_page_query_budgets.py).
- `make_rows(tenant, count)`: creates `count` more of each thing the app's lists and pages show, for the
  query-budget tests to check that a list's queries do not grow with its rows.

The generated tests collect these from every installed app (`collect`). An endpoint or a page without a
case, or a list without a budget, fails them, so a new one cannot skip them; a new app adds its own
`tests/<label>/cases.py` and edits no shared list.

Builders get the tenant the caller belongs to, the caller's role, and the tenant whose objects the ids
should point at (the caller's own, or another's).
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from django.apps import apps
from django.conf import settings

Builder = Callable[..., dict]


class FormData(dict):
    """A case's body sent as multipart/form-data (a file upload) rather than JSON."""


@dataclass(frozen=True)
class Case:
    """How to call one API endpoint."""

    params: Builder = lambda own, role, target: {}
    body: Builder | None = None
    audit_action: str | None = None
    # True when the call can name another tenant's objects (in the path or the body): it must answer 404.
    crosses_tenants: bool = False
    # The one status the endpoint answers on success.
    success: int = 200

    def __post_init__(self):
        assert self.success in (200, 201, 202, 204), f"not a success status: {self.success}"


@dataclass(frozen=True)
class Page:
    """How to request one page: its URL kwargs and, for a POST, its form data."""

    method: str = "GET"
    kwargs: Builder | None = None
    data: Builder | None = None
    # The one status the page answers on success; by default 200 for a GET, 302 (the redirect after a
    # successful form) for a POST.
    success: int | None = None

    @property
    def status(self) -> int:
        return self.success or (200 if self.method == "GET" else 302)

    @property
    def crosses_tenants(self) -> bool:
        """A page whose URL names an object answers 404 when the object is another tenant's."""
        return self.kwargs is not None


def stocktrace_labels() -> list[str]:
    """The labels of stocktrace's apps (settings.STOCKTRACE_APPS), in INSTALLED_APPS order."""
    ours = set(settings.STOCKTRACE_APPS)
    return [config.label for config in apps.get_app_configs() if config.name in ours]


def case_modules() -> dict[str, ModuleType]:
    """`tests.<label>.cases` of every installed stocktrace app that has one."""
    found = {}
    for label in stocktrace_labels():
        name = f"tests.{label}.cases"
        try:
            found[label] = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name not in (name, f"tests.{label}"):
                raise  # the module exists and imports something missing: a real error
    return found


def collect(attribute: str) -> dict:
    """Merge a dict registered under `attribute` by every app's cases; a key registered twice is an error."""
    merged: dict = {}
    for label, module in case_modules().items():
        for key, value in getattr(module, attribute, {}).items():
            assert key not in merged, f"{key} is registered twice (again by tests/{label}/cases.py)"
            merged[key] = value
    return merged


def collect_functions(attribute: str) -> list[Callable]:
    """The function registered under `attribute` by every app's cases that has one."""
    return [getattr(module, attribute) for module in case_modules().values() if hasattr(module, attribute)]


def make_rows_everywhere(tenant, count: int) -> None:
    """`count` more of everything the lists and pages of every app show, by each app's `make_rows`."""
    for make_rows in collect_functions("make_rows"):
        make_rows(tenant, count)
