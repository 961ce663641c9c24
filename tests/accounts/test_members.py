import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from stocktrace.accounts.models import User
from stocktrace.accounts.services import member_invite, member_sites_set, member_update
from stocktrace.audit.models import AuditEvent
from stocktrace.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, SiteAssignment
from stocktrace.tenancy.roles import Role
from tests.conftest import api, database_state
from tests.factories import make_world


def test_invite_creates_user_membership_sites_and_mails_a_password_link(world, django_capture_on_commit_callbacks):
    admin = world.alpha.actor(Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        membership, link = member_invite(actor=admin, email=" New.Person@Example.TEST ", role=Role.COUNTER,
                                         full_name="New Person", site_ids=[world.alpha.sites[1].pk])
    assert membership.user.email == "new.person@example.test"
    assert not membership.user.has_usable_password()
    assert link and link.startswith("/password/set/")
    assert list(membership.site_assignments.values_list("site_id", flat=True)) == [world.alpha.sites[1].pk]
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    event = AuditEvent.objects.get(action="membership.invite")
    assert event.after["role"] == "counter" and event.after["user"] == "new.person@example.test"


def test_the_password_link_sets_a_password_once(world, django_capture_on_commit_callbacks):
    membership, link = member_invite(actor=world.alpha.actor(), email="p@example.test", role=Role.VIEWER)
    client = Client()
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    new = "a-long-new-password-7"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    login = client.post("/login/", {"username": "p@example.test", "password": "a-long-new-password-7"})
    assert login.status_code == 302 and "_auth_user_id" in client.session
    assert Client().get(link, follow=True).redirect_chain[-1][0] == "/login/"


def test_inviting_an_existing_user_of_another_tenant_adds_a_membership(world):
    bravo_user = world.bravo.user(Role.COUNTER)
    membership, link = member_invite(actor=world.alpha.actor(), email=bravo_user.email, role=Role.VIEWER)
    assert link is None
    assert membership.user == bravo_user
    assert User.objects.filter(email=bravo_user.email).count() == 1


def test_inviting_a_member_twice_is_a_conflict(world):
    with pytest.raises(Conflict):
        member_invite(actor=world.alpha.actor(), email=world.alpha.user(Role.COUNTER).email, role=Role.VIEWER)


def test_reinviting_a_deactivated_member_reactivates_them(world):
    membership = world.alpha.members[Role.COUNTER]
    member_update(actor=world.alpha.actor(), membership=membership, is_active=False)
    again, _ = member_invite(actor=world.alpha.actor(), email=membership.user.email, role=Role.SUPERVISOR)
    assert again.pk == membership.pk
    again.refresh_from_db()
    assert (again.is_active, again.role) == (True, "supervisor")


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "x" * 300])
def test_invite_refuses_bad_email(world, email):
    before = database_state()
    with pytest.raises(InvalidInput):
        member_invite(actor=world.alpha.actor(), email=email, role=Role.VIEWER)
    assert database_state() == before


def test_invite_with_another_tenants_site_changes_nothing(world):
    before = database_state()
    with pytest.raises(NotFound):
        member_invite(actor=world.alpha.actor(), email="z@example.test", role=Role.VIEWER,
                      site_ids=[world.bravo.sites[0].pk])
    assert database_state() == before


def test_non_admins_cannot_invite(world):
    with pytest.raises(PermissionDenied):
        member_invite(actor=world.alpha.actor(Role.SUPERVISOR), email="z@example.test", role=Role.VIEWER)


def test_the_last_admin_cannot_be_demoted_or_deactivated(world):
    admin = world.alpha.members[Role.ADMIN]
    before = database_state()
    with pytest.raises(Conflict):
        member_update(actor=world.alpha.actor(), membership=admin, role=Role.VIEWER)
    with pytest.raises(Conflict):
        member_update(actor=world.alpha.actor(), membership=admin, is_active=False)
    assert database_state() == before
    member_update(actor=world.alpha.actor(), membership=world.alpha.members[Role.SUPERVISOR], role=Role.ADMIN)
    member_update(actor=world.alpha.actor(), membership=admin, role=Role.VIEWER)
    assert Membership.objects.get(pk=admin.pk).role == "viewer"


def test_unknown_role_is_refused_by_the_api(world, client_as):
    admin = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = api(admin, "PATCH", f"/members/{world.alpha.members['viewer'].pk}",
                   {"role": "overlord"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "role"
    assert database_state() == before


def test_site_assignment_replaces_the_set_and_is_audited(world):
    membership = world.alpha.members[Role.COUNTER]
    sites = [s.pk for s in world.alpha.sites]
    assert member_sites_set(actor=world.alpha.actor(), membership=membership, site_ids=sites[::-1] + sites) == sites
    assert member_sites_set(actor=world.alpha.actor(), membership=membership, site_ids=[]) == []
    assert not SiteAssignment.objects.filter(membership=membership).exists()
    events = AuditEvent.objects.filter(action="membership.sites").order_by("pk")
    assert [(e.before, e.after) for e in events] == [
        ({"sites": [sites[0]]}, {"sites": sites}),
        ({"sites": sites}, {"sites": []}),
    ]


def test_users_without_a_site_are_listed(world, client_as):
    member_sites_set(actor=world.alpha.actor(), membership=world.alpha.members[Role.BILLER], site_ids=[])
    member_sites_set(actor=world.alpha.actor(), membership=world.alpha.members[Role.VIEWER], site_ids=[])
    member_update(actor=world.alpha.actor(), membership=world.alpha.members[Role.VIEWER], is_active=False)
    response = api(client_as(world.alpha, Role.SUPERVISOR), "GET", "/members?without_site=true")
    # Admins see every site anyway, and the inactive viewer sees nothing by design: only the biller is a problem.
    assert [m["role"] for m in response.json()["items"]] == ["biller"]


def test_members_pages_follow_the_cursor(world, client_as):
    client = client_as(world.alpha, Role.ADMIN)
    seen, cursor = [], None
    while True:
        page = api(client, "GET", "/members?limit=4" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(m.pk for m in world.alpha.members.values())


def test_non_admins_see_only_their_sites(world, client_as):
    counter = client_as(world.alpha, Role.COUNTER)
    listed = api(counter, "GET", "/sites").json()["items"]
    assert [s["id"] for s in listed] == [world.alpha.sites[0].pk]
    assert api(counter, "GET", f"/sites/{world.alpha.sites[1].pk}").status_code == 404
    admin = client_as(world.alpha, Role.ADMIN)
    assert len(api(admin, "GET", "/sites").json()["items"]) == 2


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers (IMMEDIATE transactions); the race needs PostgreSQL")
    world = make_world()
    second = world.alpha.members[Role.SUPERVISOR]
    member_update(actor=world.alpha.actor(), membership=second, role=Role.ADMIN)
    second.refresh_from_db()
    first = world.alpha.members[Role.ADMIN]
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(actor_membership, target):
        barrier.wait()
        try:
            actor = Actor(organization=world.alpha.organization, membership=actor_membership)
            member_update(actor=actor, membership=target, role=Role.VIEWER)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(first, second)),
               threading.Thread(target=demote, args=(second, first))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert Membership.objects.filter(organization=world.alpha.organization, role=Role.ADMIN).count() == 1


def test_password_link_for_a_member_of_this_organization_only(world, client_as, django_capture_on_commit_callbacks):
    admin = client_as(world.alpha, Role.ADMIN)
    counter = world.alpha.members[Role.COUNTER]
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin, "POST", f"/members/{counter.pk}/password-link")
    assert response.status_code == 200
    link = response.json()["password_set_path"]
    assert link.startswith("/password/set/") and link in mail.outbox[0].body
    assert mail.outbox[0].to == [counter.user.email]
    Membership.objects.create(organization=world.bravo.organization, user=counter.user, role=Role.ADMIN)
    before = database_state()
    response = api(admin, "POST", f"/members/{counter.pk}/password-link")
    assert response.status_code == 409
    assert "another organization" in response.json()["detail"]
    assert database_state() == before


def test_member_change_is_all_or_nothing(world):
    from stocktrace.accounts.services import member_change

    member = world.alpha.members[Role.COUNTER]
    before = database_state()
    with pytest.raises(NotFound):
        member_change(actor=world.alpha.actor(), membership=member, role=Role.SUPERVISOR, is_active=True,
                      site_ids=[world.bravo.sites[0].pk])
    assert database_state() == before


def test_unknown_organization_header_is_404_for_a_session(world, client_as):
    client = client_as(world.alpha, Role.ADMIN)
    response = client.get("/api/v1/me", headers={"X-Organization": "bravo"})
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers={"X-Organization": "alpha"}).json()["organization"]["slug"] == "alpha"
