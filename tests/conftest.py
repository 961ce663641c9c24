import json
from collections.abc import Iterable

import pytest
from django.apps import apps
from django.test import Client

from stocktrace.webhooks.selectors import source_cache_clear
from tests import processes
from tests.cases import FormData, stocktrace_labels
from tests.factories import make_world

# django-tasks' database backend: the queued jobs are rows of its table.
TASK_APPS = ("django_tasks_database",)


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):
    """Each test gets its own data directory (rate-limit counters and the like live there)."""
    settings.DATA_DIR = tmp_path / "var"
    source_cache_clear()


@pytest.fixture(autouse=True)
def _current_test(request):
    """tests/processes.py refuses to start processes for a test not marked slow."""
    processes.CURRENT_TEST = request.node
    yield
    processes.CURRENT_TEST = None


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture
def client_as():
    """A logged-in test client: client_as(tenant, role)."""

    def make(tenant, role):
        client = Client()
        client.force_login(tenant.user(role))
        return client

    return make


def database_state(*, ignore: Iterable[str] = ()) -> dict:
    """Every row of every installed stocktrace app's tables and of the job queue, to prove a refused request
    changed nothing. `ignore` names models ("imports.ImportRun") a test expects to change, and checks itself:
    a refused import, for one, records its refusal on its ImportRun by design."""
    ignore = set(ignore)
    labels = stocktrace_labels() + list(TASK_APPS)
    state = {}
    for label in labels:
        for model in apps.get_app_config(label).get_models():
            if model._meta.label in ignore:
                ignore.discard(model._meta.label)
                continue
            state[model._meta.label] = list(model.objects.order_by("pk").values())
    assert not ignore, f"database_state(ignore=...) names no model of ours: {sorted(ignore)}"
    return state


def state_without(state: dict, *models: str) -> dict:
    """A database_state() without the models named, to compare with database_state(ignore=models)."""
    assert set(models) <= set(state), f"no such model in the state: {sorted(set(models) - set(state))}"
    return {label: rows for label, rows in state.items() if label not in models}


def api(client, method: str, path: str, body=None, **headers):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    if isinstance(body, FormData):
        kwargs = {"data": body}  # the test client's default: multipart/form-data
    elif body is not None:
        kwargs["data"] = json.dumps(body)
    return getattr(client, method.lower())(f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture
def worker_keeps_the_test_transaction(monkeypatch):
    """For tests that run the worker loop in-process: it closes connections that are inside a transaction,
    and in a test that transaction is the test's own."""
    import stocktrace.jobs.worker as worker_module

    monkeypatch.setattr(worker_module, "close_old_connections", lambda: None)
