import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.signals import request_finished
from django.test import Client

from stocktrace.accounts.models import User
from stocktrace.accounts.services import token_create
from stocktrace.ops import health
from stocktrace.ops.demo import DEMO_PASSWORD, PEOPLE, demo_email
from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.roles import Role
from tests.server_app import through_the_server_application

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_touches_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_the_server_gets_a_whole_response_as_one_chunk_and_the_request_finished(db):
    finished = []

    def count(sender, **kwargs):
        finished.append(sender)

    request_finished.connect(count, weak=False, dispatch_uid="counting")
    try:
        health = through_the_server_application("GET", "/healthz")
    finally:
        request_finished.disconnect(dispatch_uid="counting")
    assert health["status"] == 200 and health["chunks"] == [b'{"status": "ok"}']
    assert len(finished) == 1  # closed by the application, since a list cannot be closed by the server


def test_the_server_gets_a_streamed_export_as_it_is_produced(world, settings):
    settings.STOCKTRACE_EXPORT_BUFFER_BYTES = 0  # past the buffer from the first row: the rest streams
    _, plaintext = token_create(actor=world.alpha.actor(Role.ADMIN), name="exporter")
    export = through_the_server_application("GET", "/api/v1/exports/locations", query="format=csv",
                                            headers={"Authorization": f"Bearer {plaintext}"})
    assert export["status"] == 200 and not isinstance(export["chunks"], list)
    assert export["body"].startswith(b"site_code,code,kind,name,parent_code,barcode\n")


@pytest.mark.django_db  # ready means the database answers: without access it rightly is not
def test_readyz_reports_each_component_with_timing():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "migrations", "cache", "workers"}
    for component in body["components"].values():
        assert component["status"] == "ok" and component["ms"] >= 0


@pytest.mark.django_db
def test_readyz_is_503_when_a_component_fails(monkeypatch):
    def broken_cache():
        raise ConnectionError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken_cache)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["components"]["cache"] == {**body["components"]["cache"], "status": "fail",
                                           "detail": "ConnectionError: cache down"}
    assert body["components"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_notices_unapplied_migrations(monkeypatch):
    monkeypatch.setattr(health, "_migrations_known_applied", False)
    monkeypatch.setattr(health.MigrationExecutor, "migration_plan", lambda self, targets: [("x", False)])
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert "unapplied" in response.json()["components"]["migrations"]["detail"]


@pytest.mark.django_db
def test_createadmin_and_demo_commands(capsys):
    call_command("createadmin", email="Owner@Example.test", organization="Acme Stores", password="a-long-password")
    org = Organization.objects.get(slug="acme-stores")
    assert Membership.objects.get(organization=org).user.email == "owner@example.test"
    with pytest.raises(Exception, match="exists already"):
        call_command("createadmin", email="owner@example.test", organization="Acme Stores")
    call_command("demo", no_serve=True, items=300)
    call_command("demo", no_serve=True, items=300)  # idempotent
    out = capsys.readouterr().out
    assert "already there" in out
    for login, _, _, _ in PEOPLE:
        assert demo_email(login) in out
        assert User.objects.get(email=demo_email(login)).check_password(DEMO_PASSWORD)
    demo = Organization.objects.get(slug="demo")
    assert Membership.objects.filter(organization=demo).count() == len(PEOPLE)
    from stocktrace.inventory.models import Item, Location, StockAlert
    from stocktrace.inventory.selectors import ledger_drift

    assert Item.objects.filter(organization=demo).count() == 300
    assert Location.objects.filter(organization=demo, kind="bin").count() == 3 * 800
    assert StockAlert.objects.filter(organization=demo).exists()
    assert ledger_drift(organization=demo) == []
    from stocktrace.counts.models import CountArea, CountSession

    assert sorted(CountSession.objects.filter(organization=demo).values_list("status", flat=True)) == [
        "completed", "in_progress"]
    assert set(CountArea.objects.filter(session__status="in_progress").values_list("status", flat=True)) == {
        "available", "assigned", "counting", "ready_for_approval", "approved", "rejected"}

    # Every demo login has something to do on its home page: its sites' stock, or (the new hire) being told
    # to ask for a site, which the admin's home page lists.
    from django.test import Client

    for login, role, _, sites in PEOPLE:
        client = Client()
        client.force_login(User.objects.get(email=demo_email(login)))
        home = client.get("/").content.decode()
        assert 'data-testid="role-hint"' in home, login
        if sites or role == "admin":
            assert 'data-testid="site-figures"' in home and 'data-testid="no-site"' not in home, login
        else:
            assert 'data-testid="no-site"' in home, login
        if role == "admin":
            assert demo_email("newhire") in home


def _run(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY",
                                                            "STOCKTRACE_DATA_DIR"}}
    env.update({"STOCKTRACE_DATA_DIR": str(tmp_path / "var"), **env_extra})
    return subprocess.run([sys.executable, "-m", "stocktrace.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # starts stocktrace processes
def test_embedded_default_keeps_its_secret_key_and_uses_wal(tmp_path):
    result = _run(["migrate", "--verbosity", "0"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "var" / "secret_key"
    key = key_file.read_text()
    assert len(key) > 50 and oct(key_file.stat().st_mode)[-3:] == "600"
    code = ("from django.db import connection; c = connection.cursor(); c.execute('PRAGMA journal_mode');"
            "print(c.fetchone()[0])")
    result = _run(["shell", "-c", code], {}, tmp_path)
    assert result.stdout.strip().splitlines()[-1] == "wal", result.stderr
    assert key_file.read_text() == key
    assert (tmp_path / "var" / "stocktrace.sqlite3").exists()


@pytest.mark.slow  # starts stocktrace processes
def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {"SECRET_KEY": "x" * 20 + "-production-secret-0123456789-abcdefghijklmnop",
           "ALLOWED_HOSTS": "stock.example.com", "STOCKTRACE_HTTPS": "1"}
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
