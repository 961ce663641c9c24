"""Query budgets of the pages: every page (GET) makes at most its committed number of queries, and the same
number with three times the rows, so an N+1 fails here. The budgets are `QUERY_BUDGETS` in each app's
tests/<app>/cases.py, by the page's URL name; a page without one fails `test_every_page_has_a_query_budget`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stocktrace.tenancy.roles import Role
from tests.cases import collect, make_rows_everywhere
from tests.web.test_web_pages import PAGES, _prepare

BUDGETS = collect("QUERY_BUDGETS")
SMALL = 2  # rows of each kind for the first count; the second count has three times as many
GET_PAGES = sorted(name for name, page in PAGES.items() if page.method == "GET" and page.status == 200)


def test_every_page_has_a_query_budget():
    missing = [name for name in GET_PAGES if name not in BUDGETS]
    assert not missing, f"add a query budget for these pages to QUERY_BUDGETS in tests/<app>/cases.py: {missing}"


def test_every_query_budget_belongs_to_a_list_or_a_page():
    from tests.api.test_api_query_budgets import LISTS

    assert sorted(set(BUDGETS) - set(LISTS) - set(GET_PAGES)) == []


@pytest.mark.parametrize("name", GET_PAGES)
def test_page_queries_stay_within_the_budget_and_do_not_grow_with_the_rows(world, client_as, name):
    if name not in BUDGETS:
        pytest.fail(f"the page {name} has no query budget: add it to QUERY_BUDGETS in its app's tests/<app>/cases.py")
    client = client_as(world.alpha, Role.ADMIN)
    make_rows_everywhere(world.alpha, SMALL)
    _, url, _ = _prepare(name, world.alpha, Role.ADMIN, world.alpha)
    make_rows_everywhere(world.alpha, SMALL)  # rows for the objects the case made too
    assert client.get(url).status_code == 200  # caches (content types, sessions, templates) warm up

    with CaptureQueriesContext(connection) as few:
        small = client.get(url)
    make_rows_everywhere(world.alpha, 2 * SMALL)
    with CaptureQueriesContext(connection) as many:
        large = client.get(url)

    assert (small.status_code, large.status_code) == (200, 200)
    queries = "\n".join(q["sql"] for q in many.captured_queries)
    assert len(many) == len(few), f"{name}: {len(few)} queries, {len(many)} with 3× the rows (an N+1):\n{queries}"
    assert len(few) <= BUDGETS[name], f"{name}: {len(few)} queries, over its budget of {BUDGETS[name]}:\n{queries}"
