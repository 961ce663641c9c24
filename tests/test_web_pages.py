"""Generated page tests: every page follows the permission matrix and answers 404 for other tenants' ids."""

import pytest
from django.test import Client
from django.urls import URLPattern

from stocktrace.accounts.models import ApiToken
from stocktrace.accounts.roles import MATRIX, Role
from stocktrace.accounts.services import token_create
from stocktrace.audit.models import AuditEvent
from stocktrace.web.urls import urlpatterns
from tests.api_cases import _dead_letter
from tests.conftest import database_state

# Django's own auth views: open to anyone (login, password set) or to any logged-in user.
OPEN_PAGES = {"login", "logout", "password_change", "password_set", "password_forgot", "password_forgot_sent",
              "organization_switch"}

# name -> (method, kwargs builder(own tenant, role, target tenant), POST data builder or None)
PAGES = {
    "home": ("GET", None, None),
    "organization": ("GET", None, None),
    "members": ("GET", None, None),
    "member_invite": ("POST", None, lambda own, role, target: {"email": "n@example.test", "role": "counter"}),
    "member_detail": ("GET", lambda own, role, target: {"member_id": target.members[Role.VIEWER].pk}, None),
    "member_password_link": ("POST", lambda own, role, target: {"member_id": target.members[Role.VIEWER].pk},
                             lambda *a: {}),
    "sites": ("GET", None, None),
    "tokens": ("GET", None, None),
    "token_revoke": ("POST", lambda own, role, target: {"token_id": _token(target, role).pk}, lambda *a: {}),
    "audit": ("GET", None, None),
    "jobs": ("GET", None, None),
    "dead_letters_replay_all": ("POST", None, lambda *a: {}),
    "dead_letter": ("GET", lambda own, role, target: _dead_letter(own, role, target), None),
    "dead_letter_action": ("POST", lambda own, role, target: {**_dead_letter(own, role, target), "action": "replay"},
                           lambda *a: {}),
}


def _token(tenant, role) -> ApiToken:
    token, _ = token_create(actor=tenant.actor(role), name="page test")
    return token


def _page_views():
    return {p.name: p.callback for p in urlpatterns if isinstance(p, URLPattern)}


def _request(client, name, own, role, target):
    from django.urls import reverse

    method, kwargs, data = PAGES[name]
    url = reverse(f"web:{name}", kwargs=kwargs(own, role, target) if kwargs else None)
    if method == "POST":
        return client.post(url, data(own, role, target))
    return client.get(url)


def test_every_page_is_covered():
    views = _page_views()
    assert set(views) == set(PAGES) | OPEN_PAGES
    for name in PAGES:
        assert hasattr(views[name], "required_permission"), f"{name} lacks @page_requires"


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_matrix(world, client_as, name, role):
    perm = _page_views()[name].required_permission
    client = client_as(world.alpha, role)
    if perm is None or role in MATRIX[perm]:
        response = _request(client, name, world.alpha, role, world.alpha)
        assert response.status_code in (200, 302), response.content[:500]
        if response.status_code == 200:
            assert b"bravo" not in response.content.lower()
    else:
        before_events = AuditEvent.objects.count()
        response = _request(client, name, world.alpha, role, world.alpha)
        assert response.status_code == 403
        assert b"Not allowed" in response.content
        assert AuditEvent.objects.count() == before_events


@pytest.mark.parametrize("name", ["member_detail", "member_password_link", "token_revoke", "dead_letter",
                                  "dead_letter_action"])
def test_pages_answer_404_for_other_tenants_ids(world, client_as, name):
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = _request(client, name, world.alpha, Role.ADMIN, world.bravo)
    assert response.status_code == 404
    after = database_state()
    assert [t["revoked_at"] for t in after["accounts.ApiToken"]] == [None] * len(after["accounts.ApiToken"])
    # (the token_revoke case creates its target token, and that token's audit row, before the call)
    assert [e for e in after["audit.AuditEvent"] if e["action"] != "token.create"] == before["audit.AuditEvent"]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_send_strangers_to_the_login(world, name):
    response = _request(Client(), name, world.alpha, Role.ADMIN, world.alpha)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_without_organization_sees_why(db):
    from stocktrace.accounts.models import User

    client = Client()
    client.force_login(User.objects.create_user(email="lonely@example.test", password="x"))
    response = client.get("/")
    assert response.status_code == 403
    assert b"not an active member" in response.content


def test_invite_page_shows_errors_and_writes_nothing(world, client_as):
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post("/members/invite/", {"email": world.alpha.user(Role.COUNTER).email, "role": "viewer"})
    assert response.status_code == 422
    assert b"is a member already" in response.content
    assert database_state() == before


def test_member_page_changes_role_and_sites(world, client_as):
    client = client_as(world.alpha, Role.ADMIN)
    member = world.alpha.members[Role.COUNTER]
    response = client.post(f"/members/{member.pk}/", {"role": "supervisor", "is_active": "on",
                                                      "sites": [s.pk for s in world.alpha.sites]})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == "supervisor"
    assert sorted(member.site_assignments.values_list("site_id", flat=True)) == [s.pk for s in world.alpha.sites]
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "membership.update", "membership.sites"]


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


def test_forgot_password_mails_a_link_without_revealing_accounts(world):
    from django.core import mail

    client = Client()
    for email in [world.alpha.user(Role.COUNTER).email, "nobody@example.test"]:
        response = client.post("/password/forgot/", {"email": email})
        assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[world.alpha.user(Role.COUNTER).email]]
    assert "/password/set/" in mail.outbox[0].body
