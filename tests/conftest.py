import json

import pytest
from django.apps import apps
from django.test import Client

from stocktrace.webhooks.selectors import source_cache_clear
from tests.factories import make_world

# The import app's runs are left out: a refused import records its refusal there, by design.
OUR_APPS = ("tenancy", "accounts", "audit", "inventory", "jobs", "django_tasks_database", "webhooks")


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):
    """Each test gets its own data directory (rate-limit counters and the like live there)."""
    settings.DATA_DIR = tmp_path / "var"
    source_cache_clear()


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


def database_state() -> dict:
    """Every row of stocktrace's own tables, to prove a refused request changed nothing."""
    state = {}
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            state[model._meta.label] = list(model.objects.order_by("pk").values())
    return state


def api(client, method: str, path: str, body=None, **headers):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    return getattr(client, method.lower())(f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture
def worker_keeps_the_test_transaction(monkeypatch):
    """For tests that run the worker loop in-process: it closes connections that are inside a transaction,
    and in a test that transaction is the test's own."""
    import stocktrace.jobs.worker as worker_module

    monkeypatch.setattr(worker_module, "close_old_connections", lambda: None)
