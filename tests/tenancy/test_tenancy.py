"""Organizations and memberships: uniqueness, which organization a page acts in."""

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.roles import Role


@pytest.mark.django_db
def test_tenants_are_unique_and_memberships_too(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(name="Again", slug="alpha")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(organization=world.alpha.organization, user=world.alpha.user("admin"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(organization=world.bravo.organization, user=world.alpha.user("admin"), role="boss")


def test_a_user_without_organization_sees_why(db):
    from stocktrace.accounts.models import User

    client = Client()
    client.force_login(User.objects.create_user(email="lonely@example.test", password="x"))
    response = client.get("/")
    assert response.status_code == 403
    assert b"not an active member" in response.content


def test_switching_organization(world, client_as):
    from stocktrace.tenancy.models import Membership

    user = world.alpha.user(Role.SUPERVISOR)
    Membership.objects.create(organization=world.bravo.organization, user=user, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    assert b"Alpha Org" in client.get("/").content
    client.post("/organization/switch/", {"organization": world.bravo.organization.pk})
    page = client.get("/").content
    assert b"Bravo Org" in page and b'data-testid="role">viewer' in page
    # A foreign organization id is ignored.
    client.post("/organization/switch/", {"organization": 999999})
    assert b"Bravo Org" in client.get("/").content
