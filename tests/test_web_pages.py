"""Generated page tests: every page follows the permission matrix and answers 404 for other tenants' ids."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern

from config.urls import pages as urlpatterns
from stocktrace.accounts.models import ApiToken
from stocktrace.accounts.services import token_create
from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Role
from tests.api_cases import (
    _alert,
    _dead_letter,
    _empty_location,
    _import_run,
    _inbound,
    _item,
    _location,
    _outbound,
    _source,
    _subscription,
    _valid_import_run,
    target_barcode,
)
from tests.conftest import database_state
from tests.factories import stocked

# Django's own auth views: open to anyone (login, password set) or to any logged-in user.
OPEN_PAGES = {"login", "logout", "password_change", "password_set", "password_forgot", "password_forgot_sent",
              "organization_switch"}

SITES = {"sites": [{"code": "ERP-1", "name": "From the ERP", "address": "Dock 3"}]}

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
    "sites_resync": ("POST", None, lambda *a: {}),
    "tokens": ("GET", None, None),
    "token_revoke": ("POST", lambda own, role, target: {"token_id": _token(target, role).pk}, lambda *a: {}),
    "audit": ("GET", None, None),
    "jobs": ("GET", None, None),
    "dead_letters_replay_all": ("POST", None, lambda *a: {}),
    "dead_letter": ("GET", lambda own, role, target: _dead_letter(own, role, target), None),
    "dead_letter_action": ("POST", lambda own, role, target: {**_dead_letter(own, role, target), "action": "replay"},
                           lambda *a: {}),
    "webhooks": ("GET", None, None),
    "webhook_source_create": ("POST", None, lambda *a: {"name": "ERP", "handler": "site.upsert",
                                                        "rate_limit_per_minute": 100}),
    "webhook_source": ("GET", _source, None),
    "webhook_source_dry_run": ("POST", _source, lambda *a: {"payload": json.dumps(SITES)}),
    "webhook_source_rotate": ("POST", _source, lambda *a: {}),
    "webhook_source_active": ("POST", _source, lambda *a: {"is_active": "0"}),
    "inbound_delivery": ("GET", _inbound, None),
    "inbound_replay": ("POST", _inbound, lambda *a: {}),
    "webhook_subscription_create": ("POST", None, lambda *a: {"url": "https://erp.example.test/hooks",
                                                              "events": ["site.created"]}),
    "webhook_subscription": ("GET", _subscription, None),
    "webhook_subscription_rotate": ("POST", _subscription, lambda *a: {"keep_previous_hours": "1"}),
    "webhook_subscription_ping": ("POST", _subscription, lambda *a: {}),
    "webhook_subscription_active": ("POST", _subscription, lambda *a: {"is_active": "0"}),
    "outbound_delivery": ("GET", _outbound, None),
    "outbound_redeliver": ("POST", _outbound, lambda *a: {}),
    "stock": ("GET", None, None),
    "stock_receive": ("POST", None, lambda own, role, target: _scan(target, quantity="2", lot="", reference="PO-1")),
    "stock_issue": ("POST", None, lambda own, role, target: _scan(target, quantity="1.5")),
    "stock_adjust": ("POST", None, lambda own, role, target: _scan(target, direction="remove", quantity="1",
                                                                   reason="damaged")),
    "stock_transfer": ("POST", None, lambda own, role, target: _transfer_scan(target)),
    "items": ("GET", None, None),
    "item_create": ("POST", None, lambda *a: {"sku": "NEW-1", "name": "New thing", "unit": "ea"}),
    "item": ("GET", _item, None),
    "item_levels": ("POST", _item, lambda *a: {"min_level": "2", "max_level": "40"}),
    "item_barcode_add": ("POST", _item, lambda *a: {"code": "INT-77"}),
    "item_barcode_remove": ("POST", _item, lambda own, role, target: {"code": target_barcode(target)}),
    "locations": ("GET", None, None),
    "location_create": ("POST", None, lambda own, role, target: {"site": target.sites[0].pk, "code": "Z-9",
                                                                 "kind": "bin"}),
    "location": ("GET", _location, None),
    "location_move": ("POST", _empty_location, lambda own, role, target: {"parent": stocked(target)[1].barcode}),
    "location_archive": ("POST", _empty_location, lambda *a: {}),
    "alerts": ("GET", None, None),
    "alerts_recheck": ("POST", None, lambda *a: {}),
    "alert_acknowledge": ("POST", _alert, lambda *a: {}),
    "alert_resolve": ("POST", _alert, lambda *a: {}),
    "imports": ("GET", None, None),
    "imports_upload": ("POST", None, lambda *a: {"kind": "items", "dry_run": "on", "file": SimpleUploadedFile(
        "items.csv", b"sku,name\nIMP-9,Imported\n", content_type="text/csv")}),
    "import_run": ("GET", _import_run, None),
    "import_apply": ("POST", _valid_import_run, lambda *a: {}),
}


def _scan(tenant, **fields) -> dict:
    """A posting as a scanner fills it: the location's and the item's barcodes, not ids."""
    item, location = stocked(tenant)
    return {"location": location.barcode, "item": target_barcode(tenant), **fields}


def _transfer_scan(tenant) -> dict:
    from stocktrace.inventory.models import Location

    _, source = stocked(tenant)
    destination = Location.objects.filter(site=source.site, code="B-01").first()
    if destination is None:  # made without the service, so it writes no audit row of its own
        destination = Location.objects.create(organization=tenant.organization, site=source.site, code="B-01",
                                              barcode=f"{tenant.name.upper()}-1-B-01", path="/")
        destination.path = f"/{destination.pk}/"
        destination.save(update_fields=["path"])
    return {"from_location": source.barcode, "item": target_barcode(tenant), "to_location": destination.barcode,
            "quantity": "4"}


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
    stocked(world.alpha)  # the inventory cases' objects, made (and audited) before the counting below
    if perm is None or role in perm.roles:
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
                                  "dead_letter_action", "webhook_source", "webhook_source_dry_run",
                                  "webhook_source_rotate", "webhook_source_active", "inbound_delivery",
                                  "inbound_replay", "webhook_subscription", "webhook_subscription_rotate",
                                  "webhook_subscription_ping",
                                  "webhook_subscription_active", "outbound_delivery", "outbound_redeliver",
                                  "item", "item_levels", "item_barcode_add", "item_barcode_remove", "location",
                                  "import_run", "import_apply",
                                  "location_move", "location_archive", "alert_acknowledge", "alert_resolve"])
def test_pages_answer_404_for_other_tenants_ids(world, client_as, name):
    client = client_as(world.alpha, Role.ADMIN)
    stocked(world.bravo)  # the inventory cases' target, made (and audited) before the snapshot
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


WEBHOOK_ACTIONS = ["webhook_source_dry_run", "webhook_source_rotate", "webhook_source_active", "inbound_replay",
                   "webhook_subscription_rotate", "webhook_subscription_ping", "webhook_subscription_active",
                   "outbound_redeliver"]


@pytest.mark.parametrize("name", WEBHOOK_ACTIONS)
def test_webhook_actions_on_other_tenants_ids_change_nothing(world, client_as, name):
    from django.urls import reverse

    _, kwargs, data = PAGES[name]
    client = client_as(world.alpha, Role.ADMIN)
    url = reverse(f"web:{name}", kwargs=kwargs(world.alpha, Role.ADMIN, world.bravo))
    before = database_state()
    response = client.post(url, data(world.alpha, Role.ADMIN, world.bravo))
    assert response.status_code == 404
    assert database_state() == before


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_creating_a_source_shows_the_secret_once(world, client_as):
    from stocktrace.webhooks.models import WebhookSource

    client = client_as(world.alpha, Role.ADMIN)
    response = client.post("/webhooks/sources/", {"name": "North ERP", "handler": "site.upsert",
                                                  "rate_limit_per_minute": "50"})
    source = WebhookSource.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/sources/{source.pk}/"
    assert (source.organization, source.name, source.slug, source.handler, source.rate_limit_per_minute,
            source.is_active) == (world.alpha.organization, "North ERP", "north-erp", "site.upsert", 50, True)
    assert source.secret.startswith("whsec_")
    push_url = "http://testserver/hooks/alpha/north-erp"

    first = client.get(response["Location"])
    html = first.content.decode()
    assert first.context["secret"] == source.secret
    assert html.count(source.secret) == 1 and push_url in html
    for header in ("X-Stocktrace-Delivery", "X-Stocktrace-Timestamp", "X-Stocktrace-Signature"):
        assert header in html
    assert _messages(first) == ["Source North ERP created."]

    reloaded = client.get(response["Location"])
    assert reloaded.context["secret"] is None
    assert source.secret not in reloaded.content.decode() and push_url in reloaded.content.decode()
    listing = client.get("/webhooks/").content.decode()
    assert source.secret not in listing and push_url in listing and "North ERP" in listing
    assert list(AuditEvent.objects.values_list("action", "object_id")) == [("webhook_source.create", str(source.pk))]


def test_rotating_a_secret_shows_the_new_one_once(world, client_as):
    from stocktrace.webhooks.models import WebhookSource

    source = WebhookSource.objects.get(pk=_source(world.alpha, Role.ADMIN, world.alpha)["source_id"])
    client = client_as(world.alpha, Role.ADMIN)
    response = client.post(f"/webhooks/sources/{source.pk}/rotate/", {"keep_previous_hours": "0"}, follow=True)
    source.refresh_from_db()
    assert source.secret not in ("whsec_test", "") and response.context["secret"] == source.secret
    assert _messages(response) == ["Source ERP has a new secret; the old one no longer works."]
    assert source.secret not in client.get(f"/webhooks/sources/{source.pk}/").content.decode()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["webhook_source.rotate_secret"]


def test_rotating_a_subscriptions_secret_keeps_signing_with_the_old_one_for_the_hours_given(world, client_as):
    from stocktrace.webhooks.models import WebhookSubscription

    subscription = WebhookSubscription.objects.get(
        pk=_subscription(world.alpha, Role.ADMIN, world.alpha)["subscription_id"])
    old = subscription.secret
    client = client_as(world.alpha, Role.ADMIN)
    page = client.get(f"/webhooks/subscriptions/{subscription.pk}/").content.decode()
    assert f'action="/webhooks/subscriptions/{subscription.pk}/rotate/"' in page
    response = client.post(f"/webhooks/subscriptions/{subscription.pk}/rotate/", {"keep_previous_hours": "2"},
                           follow=True)
    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.previous_secret == old
    assert response.context["secret"] == subscription.secret
    assert _messages(response)[0].startswith(
        "The subscription has a new secret; deliveries also carry a signature made with the old one until ")
    assert 'data-testid="previous-secret"' in response.content.decode()
    assert subscription.secret not in client.get(f"/webhooks/subscriptions/{subscription.pk}/").content.decode()
    refused = client.post(f"/webhooks/subscriptions/{subscription.pk}/rotate/", {"keep_previous_hours": "two"},
                          follow=True)
    assert _messages(refused) == ["Give the hours to keep the old secret as a whole number. Nothing was changed."]
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["webhook_subscription.rotate_secret"]


def test_creating_a_subscription_shows_the_secret_once(world, client_as):
    from stocktrace.webhooks.models import WebhookSubscription

    client = client_as(world.alpha, Role.ADMIN)
    response = client.post("/webhooks/subscriptions/", {"url": "http://erp/hooks", "description": " Our ERP ",
                                                        "events": ["site.updated", "site.created"]})
    subscription = WebhookSubscription.objects.get()
    assert response["Location"] == f"/webhooks/subscriptions/{subscription.pk}/"
    assert (subscription.url, subscription.description, subscription.events) == (
        "http://erp/hooks", "Our ERP", ["site.created", "site.updated"])
    assert subscription.secret in client.get(response["Location"]).content.decode()
    assert subscription.secret not in client.get(response["Location"]).content.decode()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["webhook_subscription.create"]


@pytest.mark.parametrize(
    ("path", "data", "field", "error"),
    [
        ("/webhooks/sources/", {"name": "ERP", "handler": "site.upsert", "rate_limit_per_minute": "100"},
         "slug", "A source with the slug &#x27;erp&#x27; exists already"),
        ("/webhooks/sources/", {"name": "Other", "handler": "nope", "rate_limit_per_minute": "100"},
         "handler", "Select a valid choice. nope is not one of the available choices."),
        ("/webhooks/sources/", {"name": "Other", "handler": "site.upsert", "rate_limit_per_minute": "0"},
         "rate_limit_per_minute", "Ensure this value is greater than or equal to 1."),
        ("/webhooks/subscriptions/", {"url": "ftp://erp.example.test/x", "events": ["ping"]},
         "url", "The URL must start with http:// or https://"),
        ("/webhooks/subscriptions/", {"url": "https://erp.example.test/x"}, "events", "This field is required."),
        ("/webhooks/subscriptions/", {"url": "https://erp.example.test/x", "events": ["site.eaten"]},
         "events", "Select a valid choice. site.eaten is not one of the available choices."),
    ],
)
def test_create_forms_show_errors_and_write_nothing(world, client_as, path, data, field, error):
    from stocktrace.webhooks.services import source_create

    source_create(actor=world.alpha.actor(), name="ERP", handler="site.upsert")
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post(path, data)
    assert response.status_code == 422
    form = response.context["source_form" if "sources" in path else "subscription_form"]
    assert form.errors == {field or "__all__": [error.replace("&#x27;", "'")]}
    assert error in response.content.decode()
    assert database_state() == before


def test_dry_run_shows_the_result_and_changes_nothing(world, client_as):
    source_id = _source(world.alpha, Role.ADMIN, world.alpha)["source_id"]
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post(f"/webhooks/sources/{source_id}/dry-run/", {"payload": json.dumps(SITES)})
    assert response.status_code == 200
    assert response.context["outcome"] == {"ok": True, "result": {"created": ["ERP-1"], "updated": [],
                                                                  "unchanged": []}}
    html = response.content.decode()
    assert "would succeed" in html and "&quot;created&quot;: [\n    &quot;ERP-1&quot;\n  ]" in html
    assert "Nothing was changed." in html

    rejected = client.post(f"/webhooks/sources/{source_id}/dry-run/", {"payload": '{"x": 1}'})
    assert rejected.status_code == 200
    assert rejected.context["outcome"] == {
        "ok": False, "error": 'rejected: expected {"sites": [{"code": …, "name": …}, …]}'}
    assert "would be rejected" in rejected.content.decode()
    assert database_state() == before


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ('{"sites": [', "This is not valid JSON: Expecting value (line 1, column 12)."),
        ("{'sites': []}", "This is not valid JSON: Expecting property name enclosed in double quotes "
                          "(line 1, column 2)."),
        ("", "This field is required."),
    ],
)
def test_invalid_json_in_the_tester_is_a_form_error(world, client_as, payload, error):
    source_id = _source(world.alpha, Role.ADMIN, world.alpha)["source_id"]
    client = client_as(world.alpha, Role.ADMIN)
    before = database_state()
    response = client.post(f"/webhooks/sources/{source_id}/dry-run/", {"payload": payload})
    assert response.status_code == 422
    assert response.context["dry_run"].errors == {"payload": [error]}
    assert response.context["outcome"] is None
    assert 'data-testid="dry-run-outcome"' not in response.content.decode()
    assert database_state() == before


def test_source_page_lists_the_last_deliveries_newest_first(world, client_as):
    from stocktrace.webhooks.models import InboundDelivery, WebhookSource

    source = WebhookSource.objects.get(pk=_source(world.alpha, Role.ADMIN, world.alpha)["source_id"])
    InboundDelivery.objects.bulk_create([
        InboundDelivery(organization=world.alpha.organization, source=source, delivery_id=f"d-{n}", headers={},
                        body="{}", status="received" if n == 101 else "dead", error=f"boom {n}")
        for n in range(1, 102)])
    bravo = WebhookSource.objects.get(pk=_source(world.alpha, Role.ADMIN, world.bravo)["source_id"])
    InboundDelivery.objects.create(organization=world.bravo.organization, source=bravo, delivery_id="bravo-1",
                                   headers={}, body="{}")
    response = client_as(world.alpha, Role.ADMIN).get(f"/webhooks/sources/{source.pk}/")
    shown = [d.delivery_id for d in response.context["deliveries"]]
    assert shown == [f"d-{n}" for n in range(101, 1, -1)]
    html = response.content.decode()
    # One Replay button per delivery that is not waiting to be processed already.
    assert html.count(">Replay</button>") == 99 and "bravo-1" not in html


def test_delivery_pages_show_what_was_received_and_sent(world, client_as):
    from django.utils import timezone

    from stocktrace.webhooks.models import InboundDelivery, OutboundAttempt, OutboundDelivery

    client = client_as(world.alpha, Role.ADMIN)
    inbound = InboundDelivery.objects.get(pk=_inbound(world.alpha, Role.ADMIN, world.alpha)["delivery_id"])
    inbound.headers, inbound.body, inbound.error = {"x-stocktrace-delivery": "d-1"}, '{"sites": 1}', "rejected: no"
    inbound.status = "dead"
    inbound.save()
    html = client.get(f"/webhooks/inbound/{inbound.pk}/").content.decode()
    assert "x-stocktrace-delivery" in html and "{&quot;sites&quot;: 1}" in html and "rejected: no" in html

    outbound = OutboundDelivery.objects.get(pk=_outbound(world.alpha, Role.ADMIN, world.alpha)["delivery_id"])
    OutboundAttempt.objects.create(delivery=outbound, attempted_at=timezone.now(), status_code=503,
                                   response_ms=12.4, error="HTTP 503", response_excerpt="try later")
    response = client.get(f"/webhooks/outbound/{outbound.pk}/")
    html = response.content.decode()
    assert [a.status_code for a in response.context["attempts"]] == [503]
    assert "12.4 ms" in html and "try later" in html and ">Redeliver</button>" in html
    outbound.status = "pending"
    outbound.save()
    assert ">Redeliver</button>" not in client.get(f"/webhooks/outbound/{outbound.pk}/").content.decode()


def test_replay_button_enqueues_and_audits(world, client_as):
    from django_tasks_db.models import DBTaskResult

    from stocktrace.webhooks.models import InboundDelivery

    delivery = InboundDelivery.objects.get(pk=_inbound(world.alpha, Role.ADMIN, world.alpha)["delivery_id"])
    client = client_as(world.alpha, Role.ADMIN)
    response = client.post(f"/webhooks/inbound/{delivery.pk}/replay/", follow=True)
    assert response.redirect_chain == [(f"/webhooks/sources/{delivery.source_id}/", 302)]
    assert _messages(response) == ["Delivery d-1 was queued to be processed again."]
    delivery.refresh_from_db()
    assert delivery.status == "received"
    task = DBTaskResult.objects.get()
    assert (task.task_path, task.args_kwargs["kwargs"]) == (
        "stocktrace.webhooks.tasks.process_inbound_delivery",
        {"delivery_id": delivery.pk, "organization_id": world.alpha.organization.pk})
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.before, event.after, event.actor) == (
        "inbound_delivery.replay", str(delivery.pk), {"status": "processed"}, {"status": "received"},
        world.alpha.user(Role.ADMIN))

    before = database_state()
    again = client.post(f"/webhooks/inbound/{delivery.pk}/replay/", follow=True)
    assert _messages(again) == ["This delivery is waiting to be processed already"]
    assert database_state() == before


def test_redeliver_button_enqueues_and_audits(world, client_as):
    from django_tasks_db.models import DBTaskResult

    from stocktrace.webhooks.models import OutboundDelivery

    delivery = OutboundDelivery.objects.get(pk=_outbound(world.alpha, Role.ADMIN, world.alpha)["delivery_id"])
    client = client_as(world.alpha, Role.ADMIN)
    response = client.post(f"/webhooks/outbound/{delivery.pk}/redeliver/", follow=True)
    assert response.redirect_chain == [(f"/webhooks/outbound/{delivery.pk}/", 302)]
    assert _messages(response) == [f"Delivery {delivery.pk} was queued to be sent again."]
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    task = DBTaskResult.objects.get()
    assert (task.task_path, task.args_kwargs["kwargs"]) == (
        "stocktrace.webhooks.tasks.deliver_outbound",
        {"delivery_id": delivery.pk, "organization_id": world.alpha.organization.pk})
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.before, event.after) == (
        "outbound_delivery.redeliver", str(delivery.pk), {"status": "dead"}, {"status": "pending"})

    before = database_state()
    again = client.post(f"/webhooks/outbound/{delivery.pk}/redeliver/", follow=True)
    assert _messages(again) == ["This delivery is still being attempted"]
    assert database_state() == before


def test_ping_button_queues_a_ping_that_shows_in_the_log(world, client_as):
    from django_tasks_db.models import DBTaskResult

    from stocktrace.webhooks.models import OutboundDelivery

    subscription_id = _subscription(world.alpha, Role.ADMIN, world.alpha)["subscription_id"]
    client = client_as(world.alpha, Role.ADMIN)
    response = client.post(f"/webhooks/subscriptions/{subscription_id}/ping/", follow=True)
    delivery = OutboundDelivery.objects.get()
    assert (delivery.subscription_id, delivery.event.name, delivery.status) == (subscription_id, "ping", "pending")
    assert delivery.event.payload == {"subscription_id": subscription_id,
                                      "sent_by": world.alpha.user(Role.ADMIN).email}
    assert list(response.context["deliveries"]) == [delivery]
    assert f'href="/webhooks/outbound/{delivery.pk}/"' in response.content.decode()
    assert DBTaskResult.objects.get().task_path == "stocktrace.webhooks.tasks.deliver_outbound"
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["webhook_subscription.ping"]


def test_deactivating_a_source_and_a_subscription(world, client_as):
    from stocktrace.webhooks.models import WebhookSource, WebhookSubscription

    client = client_as(world.alpha, Role.ADMIN)
    source_id = _source(world.alpha, Role.ADMIN, world.alpha)["source_id"]
    subscription_id = _subscription(world.alpha, Role.ADMIN, world.alpha)["subscription_id"]
    response = client.post(f"/webhooks/sources/{source_id}/active/", {"is_active": "0"}, follow=True)
    assert _messages(response) == ["Source ERP deactivated."]
    response = client.post(f"/webhooks/subscriptions/{subscription_id}/active/", {"is_active": "0"}, follow=True)
    assert _messages(response) == ["Subscription deactivated."]
    assert not WebhookSource.objects.get().is_active and not WebhookSubscription.objects.get().is_active
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "after")) == [
        ("webhook_source.update", {"name": "ERP", "slug": WebhookSource.objects.get().slug, "handler": "site.upsert",
                                   "is_active": False, "rate_limit_per_minute": 100}),
        ("webhook_subscription.update", {"url": "http://127.0.0.1:9/x", "description": "", "events": ["site.created"],
                                         "is_active": False}),
    ]
    before = database_state()
    response = client.post(f"/webhooks/sources/{source_id}/active/", {"is_active": "maybe"}, follow=True)
    assert _messages(response) == ["Choose active or inactive."]
    assert database_state() == before


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


def _dead_letters(tenant, task_path: str, count: int, status: str = "dead") -> list:
    import uuid

    from django.utils import timezone

    from stocktrace.jobs.models import DeadLetter

    now = timezone.now()
    return DeadLetter.objects.bulk_create([
        DeadLetter(organization=tenant.organization, task_id=uuid.uuid4(), task_path=task_path, queue_name="default",
                   args_kwargs={"args": [], "kwargs": {"organization_id": tenant.organization.pk}}, attempts=3,
                   first_failed_at=now, last_failed_at=now, last_error="Boom", status=status,
                   resolved_at=None if status == "dead" else now)
        for _ in range(count)])


def test_jobs_page_filters_dead_letters_by_job_and_status_and_says_how_many_match(world, client_as):
    noop, fatal = "stocktrace.jobs.tasks.noop", "tests.job_fixtures.fatal"
    _dead_letters(world.alpha, noop, 101)
    _dead_letters(world.alpha, fatal, 2)
    replayed = _dead_letters(world.alpha, noop, 1, status="replayed")
    _dead_letters(world.alpha, fatal, 1, status="discarded")
    _dead_letters(world.bravo, "tests.job_fixtures.bravo_only", 1)
    client = client_as(world.alpha, Role.ADMIN)

    everything = client.get("/jobs/")
    html = everything.content.decode()
    assert (len(everything.context["dead"]), everything.context["dead_matching"]) == (100, 103)
    assert "103 open dead letters, showing 100 of 103 (the newest)." in html
    assert "Replay 103 dead letters</button>" in html and "not only the 100 shown" in html
    assert [value for value, _ in everything.context["dead_filter"].fields["task"].choices] == ["", noop, fatal]
    assert "bravo_only" not in html

    response = client.get("/jobs/", {"task": fatal})
    html = response.content.decode()
    assert {d.task_path for d in response.context["dead"]} == {fatal} and response.context["dead_matching"] == 2
    assert f"2 open dead letters of <code>{fatal}</code>." in html and "showing" not in html
    assert f"Replay all 2 open dead letters of <code>{fatal}</code>?" in html
    assert f'name="task" value="{fatal}"' in html

    response = client.get("/jobs/", {"status": "replayed"})
    html = response.content.decode()
    assert [d.pk for d in response.context["dead"]] == [replayed[0].pk]
    assert "1 replayed dead letter." in html and 'data-testid="replay-all"' not in html
    assert ">Replay</button>" not in html and ">Discard</button>" not in html
    response = client.get("/jobs/", {"status": "discarded", "task": noop})
    assert response.context["dead"] == [] and "No dead letters match." in response.content.decode()

    unknown = client.get("/jobs/", {"task": "tests.job_fixtures.bravo_only", "status": "gone"})
    assert unknown.status_code == 200 and unknown.context["dead_matching"] == 103  # refused filters: the default
    assert unknown.context["dead_filter"].errors.keys() == {"task", "status"}


def test_replay_all_on_the_jobs_page_replays_the_dead_letters_it_counted_of_the_job_filtered_by(world, client_as):
    from django_tasks_db.models import DBTaskResult

    from stocktrace.jobs.models import DeadLetter

    noop, fatal = "stocktrace.jobs.tasks.noop", "tests.job_fixtures.fatal"
    _dead_letters(world.alpha, noop, 2)
    counted = _dead_letters(world.alpha, fatal, 2)
    _dead_letters(world.bravo, fatal, 1)
    client = client_as(world.alpha, Role.ADMIN)
    page = client.get("/jobs/", {"task": fatal})
    through = page.context["dead"][0].pk
    assert f'name="through" value="{through}"' in page.content.decode()
    late = _dead_letters(world.alpha, fatal, 1)  # failed after the count was shown

    response = client.post("/jobs/dead-letters/replay/", {"task": fatal, "through": through}, follow=True)
    assert response.redirect_chain == [(f"/jobs/?task={fatal}", 302)]
    assert _messages(response) == [f"Replayed 2 dead letters of {fatal}."]
    statuses = dict(DeadLetter.objects.values_list("pk", "status"))
    assert [statuses[letter.pk] for letter in counted] == ["replayed", "replayed"]
    assert statuses[late[0].pk] == "dead" and list(statuses.values()).count("dead") == 4  # late, noop ×2, bravo
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [fatal, fatal]
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["dead_letter.replay"] * 2

    response = client.post("/jobs/dead-letters/replay/", {}, follow=True)  # no filter: every open one of alpha
    assert _messages(response) == ["Replayed 3 dead letters."]
    assert list(DeadLetter.objects.filter(status="dead").values_list("organization", flat=True)) == [
        world.bravo.organization.pk]
    before = database_state()
    refused = client.post("/jobs/dead-letters/replay/", {"through": "many"}, follow=True)
    assert _messages(refused) == ["That replay was not understood. Nothing was replayed."]
    assert database_state() == before
