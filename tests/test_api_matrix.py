"""Generated tests: every endpoint × every role follows the permission matrix, refuses other tenants'
ids with 404, never shows another tenant's data, and leaves an audit row for every write."""

import re

import pytest

from config.api import api as v1
from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Permission, Role
from tests.api_cases import CASES
from tests.conftest import api, database_state


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
    assert set(OPERATIONS) == set(CASES), "add the new endpoint to tests/api_cases.py"
    for key, view in OPERATIONS.items():
        assert hasattr(view, "required_permission"), f"{key} lacks @requires(...)"


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("key", sorted(CASES))
def test_role_matrix(world, client_as, key, role):
    client = client_as(world.alpha, role)
    if _allowed(key, role):
        response = _call(client, key, world.alpha, role, world.alpha)
        assert response.status_code in CASES[key].success, response.content
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
    if _allowed(key, role):
        assert response.status_code == 404, response.content
        assert response.json()["status"] == 404
    else:
        assert response.status_code in (403, 404)
    assert database_state() == before


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("key", sorted(k for k in CASES if k.startswith("GET ")))
def test_reads_never_show_another_tenant(world, client_as, key, role):
    response = _call(client_as(world.alpha, role), key, world.alpha, role, world.alpha)
    assert b"bravo" not in response.content.lower()


@pytest.mark.parametrize("key", sorted(k for k, c in CASES.items() if c.audit_action))
def test_every_write_leaves_an_audit_row(world, client_as, key):
    client = client_as(world.alpha, Role.ADMIN)
    request = _prepare(key, world.alpha, Role.ADMIN, world.alpha)
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = api(client, *request)
    assert response.status_code in CASES[key].success, response.content
    events = list(AuditEvent.objects.filter(pk__gt=last))
    assert [e.action for e in events] == [CASES[key].audit_action]
    event = events[0]
    assert event.organization_id == world.alpha.organization.pk
    assert event.actor_id == world.alpha.user(Role.ADMIN).pk
    assert event.ip == "127.0.0.1"
