"""The webhooks pages: sources and subscriptions, their secrets, the tester, deliveries, replays."""

import json

import pytest

from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state
from tests.webhooks.cases import SITES, _inbound, _outbound, _source, _subscription


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
