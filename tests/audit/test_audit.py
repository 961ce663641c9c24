"""The audit log: append-only, protected actors, search."""

import pytest
from django.db import connection, transaction

from stocktrace.accounts.services import site_create
from stocktrace.audit.models import AuditEvent


@pytest.mark.django_db
def test_the_audit_log_refuses_updates_in_the_orm_and_the_database(world):
    site_create(actor=world.alpha.actor(), code="AUD-1", name="Audited")
    event = AuditEvent.objects.get()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged'")
    assert not AuditEvent.objects.filter(action="forged").exists()


@pytest.mark.django_db
def test_people_who_acted_cannot_be_deleted(world):
    from django.db.models import ProtectedError

    site_create(actor=world.alpha.actor(), code="AUD-1", name="Audited")
    with pytest.raises(ProtectedError):
        world.alpha.user("admin").delete()


@pytest.mark.django_db
def test_audit_search_by_object_user_action_and_time(world, client_as):
    from tests.conftest import api

    client = client_as(world.alpha, "admin")
    member = world.alpha.members["viewer"]
    api(client, "PATCH", f"/members/{member.pk}", {"role": "biller"})
    api(client, "POST", "/sites", {"code": "S-9", "name": "Nine"})
    found = api(client, "GET", f"/audit?object_type=tenancy.membership&object_id={member.pk}").json()["items"]
    assert [(e["action"], e["before"], e["after"]) for e in found] == [
        ("membership.update", {"role": "viewer", "is_active": True}, {"role": "biller", "is_active": True})]
    by_user = api(client, "GET", f"/audit?actor_id={world.alpha.user('admin').pk}").json()["items"]
    assert [e["action"] for e in by_user] == ["site.create", "membership.update"]
    assert [e["action"] for e in api(client, "GET", "/audit?action=site.").json()["items"]] == ["site.create"]
    since = found[0]["created_at"]
    assert api(client, "GET", f"/audit?until={since.replace('+', '%2B')}&action=site.create").json()["items"] == []
