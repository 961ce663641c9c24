"""Generated tests: every endpoint × every role follows the permission matrix, refuses other tenants'
ids with 404, never shows another tenant's data, and leaves an audit row for every write.

The endpoints' cases are registered by each app in tests/<app>/cases.py (see tests/cases.py)."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from config.api import api as v1
from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Permission, Role
from tests.cases import case_modules, collect, stocktrace_labels
from tests.conftest import api, database_state

CASES = collect("API_CASES")


def _operations():
    found = []
    for prefix, router in v1._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    public = re.sub(r"{[^}:]+:", "{", path)  # `{path:code}` is `{code}` to a client
                    found.append((f"{method} {prefix}{public}", operation.view_func))
    return found


OPERATIONS = dict(_operations())


def _allowed(key: str, role: str) -> bool:
    perm = OPERATIONS[key].required_permission
    return role in perm.roles if isinstance(perm, Permission) else True


def _prepare(key: str, own, role: str, target) -> tuple[str, str, dict | None]:
    """The request for a case; builders may create the objects it names, so call this before a snapshot."""
    method, template = key.split(" ", 1)
    case = CASES[key]
    path = template.format(**case.params(own, role, target))
    body = case.body(own, role, target) if case.body else None
    return method, path, body


def _call(client, key: str, own, role: str, target):
    return api(client, *_prepare(key, own, role, target))


def test_every_endpoint_has_a_case_and_declares_a_permission():
    missing = sorted(set(OPERATIONS) - set(CASES))
    assert not missing, f"add these endpoints to API_CASES in their app's tests/<app>/cases.py: {missing}"
    assert sorted(set(CASES) - set(OPERATIONS)) == [], "cases of endpoints that do not exist"
    for key, view in OPERATIONS.items():
        assert hasattr(view, "required_permission"), f"{key} lacks @requires(...)"


def test_every_cases_module_is_collected():
    """tests/<label>/cases.py is read only for an installed app `stocktrace.<label>`: one anywhere else is ignored."""
    tests = Path(__file__).resolve().parents[1]
    # tests/example_domain is installed only by its own settings (tests/core/test_adding_a_domain.py).
    folders = sorted(path.parent.name for path in tests.glob("*/cases.py")
                     if path.parent.name in stocktrace_labels() or path.parent.name != "example_domain")
    assert folders and set(folders) <= set(stocktrace_labels()), folders
    assert sorted(case_modules()) == folders


def test_each_case_is_registered_by_the_app_that_serves_it():
    """An endpoint's case sits in tests/<app>/cases.py of the app whose api.py serves it, so it moves with it."""
    misplaced = [(key, label) for label, module in case_modules().items() for key in getattr(module, "API_CASES", {})
                 if OPERATIONS[key].__module__.split(".")[1] != label]
    assert misplaced == []


def _documented_responses(key: str) -> list[str]:
    method, path = key.split(" ", 1)
    return [str(code) for code in v1.get_openapi_schema()["paths"][f"/api/v1{path}"][method.lower()]["responses"]]


def test_every_success_status_is_the_one_the_api_documents():
    """A case's success status is the endpoint's documented one, so the two cannot drift apart."""
    for key, case in CASES.items():
        documented = sorted({int(code) for code in _documented_responses(key) if int(code) < 300})
        assert documented == [case.success], f"{key}: the API documents {documented}, the case says {case.success}"


@pytest.mark.parametrize("key", sorted(CASES))
def test_the_api_documents_each_response_once(key):
    codes = _documented_responses(key)
    assert len(codes) == len(set(codes)), f"{key} documents a response twice: {sorted(codes)}"


def test_the_served_document_has_no_duplicated_key():
    """The docs page's YAML/JSON parser refuses a mapping with a key twice ("duplicated mapping key"): the
    document as served must parse with duplicates refused."""
    def refuse_duplicates(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicated keys: {sorted(k for k in keys if keys.count(k) > 1)}"
        return dict(pairs)

    body = Client().get("/api/v1/openapi.json").content
    document = json.loads(body, object_pairs_hook=refuse_duplicates)
    assert "/api/v1/exports/{kind}" in document["paths"]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("key", sorted(CASES))
def test_role_matrix(world, client_as, key, role):
    client = client_as(world.alpha, role)
    if _allowed(key, role):
        response = _call(client, key, world.alpha, role, world.alpha)
        assert response.status_code == CASES[key].success, response.content
    else:
        request = _prepare(key, world.alpha, role, world.alpha)
        before = database_state()
        response = api(client, *request)
        assert response.status_code == 403, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert database_state() == before


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.COUNTER])
@pytest.mark.parametrize("key", sorted(k for k, c in CASES.items() if c.crosses_tenants))
def test_other_tenants_ids_answer_404_and_change_nothing(world, client_as, key, role):
    client = client_as(world.alpha, role)
    request = _prepare(key, world.alpha, role, world.bravo)
    before = database_state()
    response = api(client, *request)
    expected = 404 if _allowed(key, role) else 403  # the permission is checked before any id is looked up
    assert response.status_code == expected, response.content
    assert response.json()["status"] == expected
    assert database_state() == before


def _give_one_of_everything(tenant) -> None:
    """Every kind of object an endpoint reads, made for `tenant` by the cases' own builders (each once)."""
    builders = dict.fromkeys([case.params for case in CASES.values()] + [c.body for c in CASES.values() if c.body])
    for build in builders:
        build(tenant, Role.ADMIN, tenant)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("key", sorted(k for k in CASES if k.startswith("GET ")))
def test_reads_never_show_another_tenant(world, client_as, key, role):
    """An allowed role gets the read, and the same answer whatever the other tenant has; a refused one gets 403."""
    client = client_as(world.alpha, role)
    request = _prepare(key, world.alpha, role, world.alpha)
    alone = api(client, *request)
    _give_one_of_everything(world.bravo)
    response = api(client, *request)
    if _allowed(key, role):
        assert response.status_code == CASES[key].success, response.content
        assert b"bravo" not in response.content.lower()
        if response["Content-Type"] == "application/json":
            assert response.json() == alone.json(), "another tenant's objects changed what alpha reads"
    else:
        assert (alone.status_code, response.status_code) == (403, 403), response.content
        assert response.json()["status"] == 403


@pytest.mark.parametrize("key", sorted(k for k, c in CASES.items() if c.audit_action))
def test_every_write_leaves_an_audit_row(world, client_as, key):
    client = client_as(world.alpha, Role.ADMIN)
    request = _prepare(key, world.alpha, Role.ADMIN, world.alpha)
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = api(client, *request)
    assert response.status_code == CASES[key].success, response.content
    events = list(AuditEvent.objects.filter(pk__gt=last))
    assert [e.action for e in events] == [CASES[key].audit_action]
    event = events[0]
    assert event.organization_id == world.alpha.organization.pk
    assert event.actor_id == world.alpha.user(Role.ADMIN).pk
    assert event.ip == "127.0.0.1"
