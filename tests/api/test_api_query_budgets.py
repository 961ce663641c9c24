"""Query budgets of the API's lists: every GET that answers a list (a page `{"items": [...], "next_cursor": ...}`
or a JSON array) makes at most its committed number of queries, and the same number with three times the rows,
so an N+1 fails here. The budgets are `QUERY_BUDGETS` in each app's tests/<app>/cases.py; a list without one
fails `test_every_list_endpoint_has_a_query_budget`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.api import api as v1
from stocktrace.tenancy.roles import Role
from tests.api.test_api_matrix import CASES, _prepare
from tests.cases import collect, make_rows_everywhere
from tests.conftest import api

BUDGETS = collect("QUERY_BUDGETS")
SMALL = 2  # rows of each kind for the first count; the second count has three times as many


def _list_endpoints() -> list[str]:
    schema = v1.get_openapi_schema()
    components = schema["components"]["schemas"]

    def resolved(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        return node

    found = []
    for path, operations in schema["paths"].items():
        responses = operations.get("get", {}).get("responses", {})
        success = responses.get(200) or responses.get("200") or {}
        content = success.get("content", {}).get("application/json")
        if content is None:
            continue
        answer = resolved(content["schema"])
        if answer.get("type") == "array" or {"items", "next_cursor"} <= set(answer.get("properties", {})):
            found.append(f"GET {path.removeprefix('/api/v1')}")
    return sorted(found)


LISTS = _list_endpoints()


def _rows(answer) -> list:
    return answer if isinstance(answer, list) else answer["items"]


def test_every_api_list_has_a_query_budget():
    assert len(LISTS) >= 16, LISTS  # the detection above still finds the lists
    missing = [key for key in LISTS if key not in BUDGETS]
    assert not missing, f"add a query budget for these lists to QUERY_BUDGETS in tests/<app>/cases.py: {missing}"


@pytest.mark.parametrize("key", LISTS)
def test_api_list_queries_stay_within_the_budget_and_do_not_grow_with_the_rows(world, client_as, key):
    if key not in BUDGETS:
        pytest.fail(f"{key} has no query budget: add it to QUERY_BUDGETS in its app's tests/<app>/cases.py")
    client = client_as(world.alpha, Role.ADMIN)
    make_rows_everywhere(world.alpha, SMALL)
    method, path, body = _prepare(key, world.alpha, Role.ADMIN, world.alpha)
    assert body is None and key in CASES
    make_rows_everywhere(world.alpha, SMALL)  # rows for the objects the case made too
    assert api(client, method, path).status_code == 200  # caches (content types, sessions) warm up

    with CaptureQueriesContext(connection) as few:
        small = api(client, method, path)
    make_rows_everywhere(world.alpha, 2 * SMALL)
    with CaptureQueriesContext(connection) as many:
        large = api(client, method, path)

    assert (small.status_code, large.status_code) == (200, 200)
    assert len(_rows(large.json())) > len(_rows(small.json())) > 0, "the rows did not grow: extend a make_rows"
    queries = "\n".join(q["sql"] for q in many.captured_queries)
    assert len(many) == len(few), f"{key}: {len(few)} queries, {len(many)} with 3× the rows (an N+1):\n{queries}"
    assert len(few) <= BUDGETS[key], f"{key}: {len(few)} queries, over its budget of {BUDGETS[key]}:\n{queries}"
