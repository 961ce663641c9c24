"""The members' pages and the password pages."""

from django.test import Client

from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state


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


def test_forgot_password_mails_a_link_without_revealing_accounts(world):
    from django.core import mail

    client = Client()
    for email in [world.alpha.user(Role.COUNTER).email, "nobody@example.test"]:
        response = client.post("/password/forgot/", {"email": email})
        assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[world.alpha.user(Role.COUNTER).email]]
    assert "/password/set/" in mail.outbox[0].body


def test_forgot_password_reaches_invited_people_and_links_to_the_configured_address(world, settings):
    from django.core import mail

    from stocktrace.accounts.services import member_invite

    settings.STOCKTRACE_BASE_URL = "https://stock.example.com"
    member_invite(actor=world.alpha.actor(), email="new@example.test", role=Role.VIEWER)
    mail.outbox.clear()
    Client().post("/password/forgot/", {"email": "New@Example.test"}, HTTP_HOST="evil.example")
    assert [m.to for m in mail.outbox] == [["new@example.test"]]
    assert "https://stock.example.com/password/set/" in mail.outbox[0].body
    assert "evil.example" not in mail.outbox[0].body


def test_forgot_password_is_rate_limited(world):
    from django.core import mail

    client = Client()
    for _ in range(7):
        client.post("/password/forgot/", {"email": world.alpha.user(Role.COUNTER).email})
    assert len(mail.outbox) == 5


def test_members_are_searched_and_paged_by_email(world, client_as, monkeypatch):
    from stocktrace.accounts.views import members as member_views

    monkeypatch.setattr(member_views, "MEMBERS_SHOWN", 4)
    client = client_as(world.alpha, Role.ADMIN)
    first = client.get("/members/")
    emails = [m.user.email for m in first.context["people"]]
    assert emails == ["admin@alpha.test", "biller@alpha.test", "counter@alpha.test", "dispatcher@alpha.test"]
    assert first.context["next_after"] == "dispatcher@alpha.test"
    second = client.get("/members/", {"after": "dispatcher@alpha.test"})
    assert [m.user.email for m in second.context["people"]] == ["supervisor@alpha.test", "viewer@alpha.test"]
    assert second.context["next_after"] is None
    assert [m.user.email for m in client.get("/members/", {"q": "COUNT"}).context["people"]] == ["counter@alpha.test"]
    assert [m.user.email for m in client.get("/members/", {"q": "viewer alpha"}).context["people"]] == [
        "viewer@alpha.test"]  # the full name
    nobody = client.get("/members/", {"q": "bravo"})
    assert list(nobody.context["people"]) == [] and "Nobody matches" in nobody.content.decode()
