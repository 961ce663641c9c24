import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from stocktrace.accounts.models import ApiToken
from stocktrace.accounts.services import member_update, token_authenticate, token_create
from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Role
from tests.conftest import api


def bearer(plaintext: str) -> dict:
    return {"Authorization": f"Bearer {plaintext}"}


def test_token_is_shown_once_and_stored_hashed(world, client_as):
    client = client_as(world.alpha, Role.COUNTER)
    response = api(client, "POST", "/tokens", {"name": "Scanner 4"})
    assert response.status_code == 201
    plaintext = response.json()["token"]
    assert plaintext.startswith("st_")
    stored = ApiToken.objects.get(pk=response.json()["id"])
    secret = plaintext.split("_", 2)[2]
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(ApiToken.objects.values()))
    listed = api(client, "GET", "/tokens").json()
    assert [t["name"] for t in listed] == ["Scanner 4"]
    assert "token" not in listed[0]
    assert plaintext not in str(list(AuditEvent.objects.values()))


def test_token_acts_in_its_own_organization_with_the_members_current_role(world):
    token, plaintext = token_create(actor=world.alpha.actor(Role.SUPERVISOR), name="tablet")
    client = Client()
    me = client.get("/api/v1/me", headers=bearer(plaintext)).json()
    assert (me["organization"]["slug"], me["role"]) == ("alpha", "supervisor")
    # The X-Organization header cannot move a token into another tenant.
    me = client.get("/api/v1/me", headers={**bearer(plaintext), "X-Organization": "bravo"}).json()
    assert me["organization"]["slug"] == "alpha"
    member_update(actor=world.alpha.actor(Role.ADMIN), membership=world.alpha.members[Role.SUPERVISOR],
                  role=Role.VIEWER)
    assert client.get("/api/v1/me", headers=bearer(plaintext)).json()["role"] == "viewer"
    assert client.get("/api/v1/members", headers=bearer(plaintext)).status_code == 403


def test_token_writes_are_audited_with_the_token(world):
    token, plaintext = token_create(actor=world.alpha.actor(Role.ADMIN), name="erp")
    response = Client().post("/api/v1/sites", data={"code": "T-1", "name": "Via token"},
                             content_type="application/json", headers={**bearer(plaintext), "X-Device-ID": "erp-1"})
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="site.create", object_id=str(response.json()["id"]))
    assert (event.token_prefix, event.device, event.actor_id) == (token.prefix, "erp-1", world.alpha.user("admin").pk)


def test_token_writes_need_no_csrf_but_session_writes_do(world):
    _, plaintext = token_create(actor=world.alpha.actor(Role.ADMIN), name="erp")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/sites", data={"code": "T-2", "name": "x"}, content_type="application/json",
                           headers=bearer(plaintext))
    assert response.status_code == 201
    client.force_login(world.alpha.user(Role.ADMIN))
    response = client.post("/api/v1/sites", data={"code": "T-3", "name": "x"}, content_type="application/json")
    assert response.status_code in (401, 403)


def test_revoked_and_expired_tokens_stop_working(world, client_as):
    token, plaintext = token_create(actor=world.alpha.actor(Role.COUNTER), name="t",
                                    expires_at=timezone.now() + timedelta(hours=1))
    assert Client().get("/api/v1/me", headers=bearer(plaintext)).status_code == 200
    response = api(client_as(world.alpha, Role.COUNTER), "DELETE", f"/tokens/{token.pk}")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert Client().get("/api/v1/me", headers=bearer(plaintext)).status_code == 401


def test_token_expiry_must_be_in_the_future(world, client_as):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = api(client_as(world.alpha, Role.COUNTER), "POST", "/tokens", {"name": "t", "expires_at": past})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "expires_at"
    assert not ApiToken.objects.exists()


def test_someone_elses_token_cannot_be_revoked(world, client_as):
    token, plaintext = token_create(actor=world.alpha.actor(Role.BILLER), name="t")
    response = api(client_as(world.alpha, Role.COUNTER), "DELETE", f"/tokens/{token.pk}")
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_deactivating_a_member_revokes_their_tokens(world):
    _, plaintext = token_create(actor=world.alpha.actor(Role.COUNTER), name="t")
    member_update(actor=world.alpha.actor(Role.ADMIN), membership=world.alpha.members[Role.COUNTER], is_active=False)
    assert Client().get("/api/v1/me", headers=bearer(plaintext)).status_code == 401
    assert ApiToken.objects.get().revoked_at is not None


def test_last_used_is_recorded_at_most_once_a_minute(world, django_assert_num_queries):
    token, plaintext = token_create(actor=world.alpha.actor(Role.COUNTER), name="t")
    assert token_authenticate(plaintext, ip="10.0.0.1").last_used_at is not None
    first = ApiToken.objects.get().last_used_at
    with django_assert_num_queries(1):  # the lookup only; no write within the minute
        token_authenticate(plaintext, ip="10.0.0.1")
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - timedelta(minutes=2))
    token_authenticate(plaintext, ip="10.0.0.1")
    assert ApiToken.objects.get().last_used_at > first


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_own_tokens(world, client_as, role):
    assert api(client_as(world.alpha, role), "POST", "/tokens", {"name": "mine"}).status_code == 201


def test_expiry_without_time_zone_or_as_a_number_is_refused(world, client_as):
    client = client_as(world.alpha, Role.COUNTER)
    for value in ["2030-01-01T00:00:00", 1893456000, "1893456000"]:
        response = api(client, "POST", "/tokens", {"name": "t", "expires_at": value})
        assert response.status_code == 422, value
        assert response.json()["errors"][0]["path"] == "expires_at"
    assert not ApiToken.objects.exists()
    assert api(client, "POST", "/tokens", {"name": "t", "expires_at": "2030-01-01T00:00:00Z"}).status_code == 201


def test_a_scanner_looks_up_codes_with_its_token_in_few_queries(world, django_assert_num_queries):
    from django.db import connection

    from stocktrace.inventory.services.catalog import item_create, location_create

    actor = world.alpha.actor()
    item = item_create(actor=actor, sku="MILK", name="Milk", barcodes=["96385074", "MILK-INT", "4006381333931"])
    location_create(actor=actor, site=world.alpha.sites[0], code="DOCK", barcode="LOC-DOCK")
    item_create(actor=world.bravo.actor(), sku="OTHER", name="Bravo's", barcodes=["OTHER-1"])
    _, plaintext = token_create(actor=world.alpha.actor(Role.COUNTER), name="scanner")
    client = Client()
    client.get("/api/v1/me", headers=bearer(plaintext))  # records last use: no write in the lookups below
    # The token with its member, then the item with its barcodes (on SQLite the barcodes are a third query).
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3):
        found = client.get("/api/v1/lookup/4006381333931", headers=bearer(plaintext)).json()
    assert found["item"] == {
        "id": item.pk, "sku": "MILK", "name": "Milk", "unit": "ea", "unit_cost": "0.0000", "min_level": None,
        "max_level": None, "tracks_lots": False, "tracks_expiry": False, "archived_at": None,
        "barcodes": ["96385074", "MILK-INT", "4006381333931"]}
    assert client.get("/api/v1/lookup/MILK", headers=bearer(plaintext)).json()["item"]["id"] == item.pk  # by SKU
    assert client.get("/api/v1/lookup/LOC-DOCK", headers=bearer(plaintext)).json()["location"]["code"] == "DOCK"
    assert client.get("/api/v1/lookup/OTHER-1", headers=bearer(plaintext)).status_code == 404  # another tenant's


@pytest.mark.django_db(transaction=True)
def test_api_requests_survive_a_dropped_database_connection(world):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("token checks skip Django's health check on PostgreSQL only")
    _, plaintext = token_create(actor=world.alpha.actor(Role.COUNTER), name="scanner")
    client = Client()
    assert client.get("/api/v1/me", headers=bearer(plaintext)).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connection.copy()  # a second connection ends the first, as a database restart would
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    assert client.get("/api/v1/me", headers=bearer(plaintext)).status_code == 200
