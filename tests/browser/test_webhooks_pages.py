import json
import time
import urllib.request

from django_tasks_db.models import DBTaskResult
from playwright.sync_api import Page, expect

from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.models import Site
from stocktrace.webhooks import signing
from stocktrace.webhooks.models import InboundDelivery, OutboundAttempt, WebhookSource, WebhookSubscription
from tests.browser.conftest import login, shot
from tests.conftest import database_state
from tests.job_fixtures import run_worker

SITES = {"sites": [{"code": "ERP-1", "name": "From the ERP", "address": "Dock 3"}]}


def signed_push(url: str, secret: str, payload: dict, delivery: str) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", signing.DELIVERY_HEADER: delivery,
        signing.TIMESTAMP_HEADER: str(timestamp), signing.SIGNATURE_HEADER: signing.sign(secret, timestamp, body)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_admin_sets_up_a_source_sees_a_push_processed_and_tries_a_payload(page: Page, live_server, world):
    login(page, live_server, world.alpha.user("admin").email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(page.locator("[data-testid=sources]")).to_contain_text("No inbound sources yet.")

    form = page.locator("[data-testid=source-form]")
    form.get_by_label("Name", exact=True).fill("North ERP")
    form.get_by_label("Handler").select_option("site.upsert")
    form.get_by_role("button", name="Create source").click()

    expect(page.get_by_role("heading", name="Source North ERP")).to_be_visible()
    secret = page.locator("[data-testid=new-secret]").inner_text().strip()
    push_url = page.locator("[data-testid=push-url]").inner_text().strip()
    source = WebhookSource.objects.get()
    assert (secret, push_url) == (source.secret, f"{live_server.url}/hooks/alpha/north-erp")
    expect(page.get_by_role("alert")).to_contain_text(signing.SIGNATURE_HEADER)
    shot(page, "webhooks_source_created")

    status, answer = signed_push(push_url, secret, SITES, delivery="erp-0001")
    delivery = InboundDelivery.objects.get()
    assert (status, answer) == (202, {"delivery": delivery.pk, "status": "received", "duplicate": False})
    run_worker()

    page.reload()
    expect(page.locator("[data-testid=new-secret]")).to_have_count(0)  # shown once
    row = page.locator("tr[data-delivery='erp-0001']")
    expect(row.locator("[data-status]")).to_have_text("processed")
    expect(row.get_by_role("button", name="Replay")).to_be_visible()
    row.get_by_role("link", name="erp-0001").click()
    expect(page.get_by_role("heading", name="Delivery erp-0001")).to_contain_text("processed")
    expect(page.locator("[data-testid=delivery-result]")).to_contain_text('"ERP-1"')
    expect(page.locator("[data-testid=delivery-body]")).to_have_text(json.dumps(SITES))
    shot(page, "webhooks_inbound_delivery")
    page.get_by_role("link", name="Back to the source").click()

    # The dry-run tester: a broken payload first, then one that would update ERP-1 and create ERP-2.
    before = database_state()
    page.get_by_label("JSON payload").fill('{"sites": [')
    page.get_by_role("button", name="Try it").click()
    expect(page.locator("#dry-run .errorlist")).to_have_text(
        "This is not valid JSON: Expecting value (line 1, column 12).")
    expect(page.locator("[data-testid=dry-run-outcome]")).to_have_count(0)
    payload = {"sites": [{"code": "ERP-1", "name": "Renamed", "address": "Dock 3"}, {"code": "ERP-2", "name": "Two"}]}
    page.get_by_label("JSON payload").fill(json.dumps(payload, indent=2))
    page.get_by_role("button", name="Try it").click()
    outcome = page.locator("[data-testid=dry-run-outcome]")
    expect(outcome).to_contain_text("would succeed")
    expect(outcome.locator("pre")).to_contain_text('"created": [\n    "ERP-2"\n  ]')
    expect(outcome.locator("pre")).to_contain_text('"updated": [\n    "ERP-1"\n  ]')
    shot(page, "webhooks_dry_run")
    assert database_state() == before
    assert not Site.objects.filter(code="ERP-2").exists() and Site.objects.get(code="ERP-1").name == "From the ERP"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.locator("tr[data-source='north-erp']")).to_contain_text(push_url)
    expect(page.locator("body")).not_to_contain_text(secret)
    shot(page, "webhooks_index")


def test_admin_subscribes_pings_and_redelivers(page: Page, live_server, world):
    login(page, live_server, world.alpha.user("admin").email)
    page.goto(f"{live_server.url}/webhooks/")
    form = page.locator("[data-testid=subscription-form]")
    form.get_by_label("URL").fill("http://127.0.0.1:9/nobody-listens")
    form.get_by_label("Description").fill("Warehouse robot")
    form.get_by_label("site.created — A site was created").check()
    form.get_by_role("button", name="Create subscription").click()
    expect(page.get_by_role("heading", name="Subscription http://127.0.0.1:9/nobody-listens")).to_be_visible()
    expect(page.locator("[data-testid=new-secret]")).to_have_text(WebhookSubscription.objects.get().secret)
    page.get_by_role("button", name="Send a ping").click()
    expect(page.get_by_role("status")).to_contain_text("A ping was queued")
    run_worker()  # the receiver is down: the attempt is logged and retried later

    page.reload()
    row = page.locator("[data-testid=deliveries] tbody tr").first
    expect(row.locator("[data-status]")).to_have_text("failed")
    shot(page, "webhooks_subscription")
    row.get_by_role("link", name="ping").click()
    expect(page.locator("[data-testid=attempts]")).to_contain_text("Connection refused")
    shot(page, "webhooks_outbound_delivery")
    tasks_before = DBTaskResult.objects.count()
    page.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_role("status")).to_contain_text("was queued to be sent again")
    expect(page.get_by_role("heading", name="Outbound delivery")).to_contain_text("pending")
    expect(page.get_by_role("button", name="Redeliver")).to_have_count(0)
    # The scheduled retry is brought forward rather than a second job started for the same delivery.
    assert DBTaskResult.objects.count() == tasks_before and OutboundAttempt.objects.count() == 1
    from django.utils import timezone

    assert DBTaskResult.objects.ready().filter(task_path="stocktrace.webhooks.tasks.deliver_outbound").count() == 1
    assert DBTaskResult.objects.get(status="READY").run_after <= timezone.now()
    assert AuditEvent.objects.filter(action="outbound_delivery.redeliver").count() == 1
