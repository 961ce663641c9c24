"""Webhook pages for admins: inbound sources (push URL, secret, deliveries, dry run) and outbound
subscriptions (events, delivery log, redelivery). Views parse, call one service and render."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST

from stocktrace.core.errors import DomainError
from stocktrace.events.inbound import HANDLERS
from stocktrace.web.actions import announce, followed_job
from stocktrace.web.decorators import page_requires
from stocktrace.web.forms import show_domain_error
from stocktrace.webhooks import selectors, services, signing
from stocktrace.webhooks.forms import WebhookActiveForm, WebhookDryRunForm, WebhookSourceForm, WebhookSubscriptionForm
from stocktrace.webhooks.permissions import WEBHOOKS_MANAGE
from stocktrace.webhooks.tasks import OUTBOUND_POLICY

NEW_SECRET_KEY = "new_webhook_secret"
DELIVERIES_SHOWN = 100
LISTED = 500


def _pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


def _signing() -> dict:
    return {"delivery": signing.DELIVERY_HEADER, "timestamp": signing.TIMESTAMP_HEADER,
            "signature": signing.SIGNATURE_HEADER, "event": signing.EVENT_HEADER,
            "tolerance": signing.TOLERANCE_SECONDS, "outbound_attempts": OUTBOUND_POLICY.max_attempts,
            "outbound_timeout": settings.STOCKTRACE_OUTBOUND_TIMEOUT_SECONDS}


def _push_url(request, source) -> str:
    return request.build_absolute_uri(reverse("inbound_webhook", kwargs={
        "organization_slug": request.actor.organization.slug, "source_slug": source.slug}))


def _keep_secret(request, kind: str, obj) -> None:
    # Post/redirect/get, so a reload cannot create a second object; the secret survives one page view.
    request.session[NEW_SECRET_KEY] = {"kind": kind, "id": obj.pk, "secret": obj.secret}


def _take_secret(request, kind: str, pk: int) -> str | None:
    pending = request.session.get(NEW_SECRET_KEY)
    if request.method != "GET" or not pending or (pending.get("kind"), pending.get("id")) != (kind, pk):
        return None
    del request.session[NEW_SECRET_KEY]
    return pending["secret"]


def _active_note(what: str, is_active: bool) -> str:
    return f"{what} {'activated' if is_active else 'deactivated'}."


def _index(request, *, source_form=None, subscription_form=None, status: int = 200):
    sources = selectors.sources_of(actor=request.actor).order_by("name", "pk")[:LISTED]
    subscriptions = selectors.subscriptions_of(actor=request.actor).order_by("url", "pk")[:LISTED]
    return render(request, "webhooks/webhooks.html", {
        "sources": [(source, _push_url(request, source)) for source in sources],
        "subscriptions": subscriptions,
        "source_form": source_form or WebhookSourceForm(),
        "subscription_form": subscription_form or WebhookSubscriptionForm(),
        "resync_job": followed_job(request),
    }, status=status)


@page_requires(WEBHOOKS_MANAGE)
@require_GET
def webhooks(request):
    return _index(request)


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_source_create(request):
    form = WebhookSourceForm(request.POST)
    if form.is_valid():
        try:
            source = services.source_create(actor=request.actor, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            _keep_secret(request, "source", source)
            messages.success(request, f"Source {source.name} created.")
            return redirect("web:webhook_source", source_id=source.pk)
    return _index(request, source_form=form, status=422)


_KEEP_PREVIOUS = {"default": services.KEEP_PREVIOUS_HOURS_DEFAULT, "max": services.KEEP_PREVIOUS_HOURS_MAX}


def _source_page(request, source, *, dry_run=None, outcome=None, status: int = 200):
    deliveries = (selectors.inbound_deliveries_of(actor=request.actor, source=source)
                  .defer("body", "headers", "result").order_by("-received_at", "-pk")[:DELIVERIES_SHOWN])
    handler = HANDLERS.get(source.handler)
    return render(request, "webhooks/source.html", {
        "source": source,
        "push_url": _push_url(request, source),
        "secret": _take_secret(request, "source", source.pk),
        "previous_valid_until": source.previous_secret_in_use_until(),
        "keep_previous": _KEEP_PREVIOUS,
        "handler_doc": (handler.__doc__ or "").strip() if handler else None,
        "deliveries": deliveries,
        "limit": DELIVERIES_SHOWN,
        "dry_run": dry_run or WebhookDryRunForm(),
        "outcome": outcome,
        "outcome_result": _pretty(outcome["result"]) if outcome and outcome.get("ok") else None,
        "signing": _signing(),
    }, status=status)


@page_requires(WEBHOOKS_MANAGE)
@require_GET
def webhook_source(request, source_id: int):
    return _source_page(request, selectors.source_get(actor=request.actor, source_id=source_id))


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_source_dry_run(request, source_id: int):
    source = selectors.source_get(actor=request.actor, source_id=source_id)
    form = WebhookDryRunForm(request.POST)
    outcome = None
    if form.is_valid():
        try:
            outcome = services.inbound_dry_run(actor=request.actor, source=source,
                                               payload=form.cleaned_data["payload"])
        except DomainError as error:
            show_domain_error(form, error)
    return _source_page(request, source, dry_run=form, outcome=outcome, status=200 if outcome is not None else 422)


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def _rotate(request, kind: str, holder, rotate, *, done: str, overlap: str) -> None:
    """Rotate a source's or subscription's secret from a form: `rotate(keep_previous_hours)` does it."""
    raw = request.POST.get("keep_previous_hours", "").strip()
    try:
        holder = rotate(int(raw) if raw else services.KEEP_PREVIOUS_HOURS_DEFAULT)
    except ValueError:
        messages.error(request, "Give the hours to keep the old secret as a whole number. Nothing was changed.")
    except DomainError as error:
        messages.error(request, f"{error.detail}. Nothing was changed.")
    else:
        _keep_secret(request, kind, holder)
        until = holder.previous_secret_in_use_until()
        messages.success(request, f"{done} has a new secret; " + (
            f"{overlap} until {_when(until)}." if until else "the old one no longer works."))


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_source_rotate(request, source_id: int):
    source = selectors.source_get(actor=request.actor, source_id=source_id)
    _rotate(request, "source", source,
            lambda keep: services.source_rotate_secret(actor=request.actor, source=source, keep_previous_hours=keep),
            done=f"Source {source.name}", overlap="the old one is still accepted")
    return redirect("web:webhook_source", source_id=source.pk)


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_source_active(request, source_id: int):
    source = selectors.source_get(actor=request.actor, source_id=source_id)
    form = WebhookActiveForm(request.POST)
    if form.is_valid():
        source = services.source_update(actor=request.actor, source=source, is_active=form.cleaned_data["is_active"])
        messages.success(request, _active_note(f"Source {source.name}", source.is_active))
    else:
        messages.error(request, "Choose active or inactive.")
    return redirect("web:webhook_source", source_id=source.pk)


@page_requires(WEBHOOKS_MANAGE)
@require_GET
def inbound_delivery(request, delivery_id: int):
    delivery = selectors.inbound_delivery_get(actor=request.actor, delivery_id=delivery_id)
    return render(request, "webhooks/inbound.html", {
        "delivery": delivery,
        "headers": _pretty(delivery.headers),
        "result": None if delivery.result is None else _pretty(delivery.result),
    })


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def inbound_replay(request, delivery_id: int):
    delivery = selectors.inbound_delivery_get(actor=request.actor, delivery_id=delivery_id)
    announce(request, lambda: services.inbound_replay(actor=request.actor, delivery=delivery),
             lambda done: f"Delivery {done.delivery_id} was queued to be processed again.")
    return redirect("web:webhook_source", source_id=delivery.source_id)


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_subscription_create(request):
    form = WebhookSubscriptionForm(request.POST)
    if form.is_valid():
        try:
            subscription = services.subscription_create(actor=request.actor, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            _keep_secret(request, "subscription", subscription)
            messages.success(request, f"Subscription to {subscription.url} created.")
            return redirect("web:webhook_subscription", subscription_id=subscription.pk)
    return _index(request, subscription_form=form, status=422)


@page_requires(WEBHOOKS_MANAGE)
@require_GET
def webhook_subscription(request, subscription_id: int):
    subscription = selectors.subscription_get(actor=request.actor, subscription_id=subscription_id)
    deliveries = (selectors.outbound_deliveries_of(actor=request.actor, subscription=subscription)
                  .order_by("-created_at", "-pk")[:DELIVERIES_SHOWN])
    return render(request, "webhooks/subscription.html", {
        "subscription": subscription,
        "secret": _take_secret(request, "subscription", subscription.pk),
        "previous_valid_until": subscription.previous_secret_in_use_until(),
        "keep_previous": _KEEP_PREVIOUS,
        "deliveries": deliveries,
        "limit": DELIVERIES_SHOWN,
        "signing": _signing(),
    })


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_subscription_rotate(request, subscription_id: int):
    subscription = selectors.subscription_get(actor=request.actor, subscription_id=subscription_id)
    _rotate(request, "subscription", subscription,
            lambda keep: services.subscription_rotate_secret(actor=request.actor, subscription=subscription,
                                                             keep_previous_hours=keep),
            done="The subscription", overlap="deliveries also carry a signature made with the old one")
    return redirect("web:webhook_subscription", subscription_id=subscription.pk)


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_subscription_ping(request, subscription_id: int):
    subscription = selectors.subscription_get(actor=request.actor, subscription_id=subscription_id)
    services.subscription_ping(actor=request.actor, subscription=subscription)
    messages.success(request, "A ping was queued; it shows in the delivery log below.")
    return redirect("web:webhook_subscription", subscription_id=subscription.pk)


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def webhook_subscription_active(request, subscription_id: int):
    subscription = selectors.subscription_get(actor=request.actor, subscription_id=subscription_id)
    form = WebhookActiveForm(request.POST)
    if form.is_valid():
        subscription = services.subscription_update(actor=request.actor, subscription=subscription,
                                                    is_active=form.cleaned_data["is_active"])
        messages.success(request, _active_note("Subscription", subscription.is_active))
    else:
        messages.error(request, "Choose active or inactive.")
    return redirect("web:webhook_subscription", subscription_id=subscription.pk)


@page_requires(WEBHOOKS_MANAGE)
@require_GET
def outbound_delivery(request, delivery_id: int):
    delivery = selectors.outbound_delivery_get(actor=request.actor, delivery_id=delivery_id)
    return render(request, "webhooks/outbound.html", {
        "delivery": delivery,
        "payload": _pretty(delivery.event.payload),
        "attempts": delivery.attempt_log.order_by("attempted_at", "pk"),
    })


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def outbound_redeliver(request, delivery_id: int):
    delivery = selectors.outbound_delivery_get(actor=request.actor, delivery_id=delivery_id)
    announce(request, lambda: services.outbound_redeliver(actor=request.actor, delivery=delivery),
             lambda done: f"Delivery {done.pk} was queued to be sent again.")
    return redirect("web:outbound_delivery", delivery_id=delivery.pk)


@page_requires(WEBHOOKS_MANAGE)
@require_POST
def sites_resync(request):
    task_id = services.sites_resync_start(actor=request.actor)
    messages.success(request, "Sending every site to the integrations; progress below.")
    return redirect(f"{reverse('web:webhooks')}?job={task_id}#resync")
