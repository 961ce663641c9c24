import json
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from stocktrace.audit.services import audit_record, audited_update, snapshot
from stocktrace.core import ratelimit
from stocktrace.core.errors import Conflict, InvalidInput, RateLimited, Unauthenticated
from stocktrace.core.jsonlimits import json_depth_check
from stocktrace.events.catalogue import event_catalogue
from stocktrace.events.inbound import HANDLERS, PayloadRejected
from stocktrace.tenancy.actor import Actor
from stocktrace.webhooks import signing
from stocktrace.webhooks.intake import Receipt, inbound_store
from stocktrace.webhooks.models import (
    InboundDelivery,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEvent,
    SigningSecret,
    WebhookSource,
    WebhookSubscription,
)
from stocktrace.webhooks.outbox import outbox_write
from stocktrace.webhooks.permissions import WEBHOOKS_MANAGE
from stocktrace.webhooks.selectors import source_cache_clear

SOURCE_AUDITED = ["name", "slug", "handler", "is_active", "rate_limit_per_minute"]
SUBSCRIPTION_AUDITED = ["url", "description", "events", "is_active"]
# How long a rotated-out secret may stay valid: long enough for a slow change process, short enough that a
# leaked secret does not outlive its rotation by much.
KEEP_PREVIOUS_HOURS_DEFAULT = 24
KEEP_PREVIOUS_HOURS_MAX = 168
# Headers worth keeping with a delivery; cookies and authorization never are.
KEPT_HEADERS = {"content-type", "user-agent", "x-forwarded-for", signing.TIMESTAMP_HEADER.lower(),
                signing.SIGNATURE_HEADER.lower(), signing.DELIVERY_HEADER.lower(), signing.EVENT_HEADER.lower()}


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _check_handler(handler: str) -> str:
    if handler not in HANDLERS:
        raise InvalidInput(f"Unknown handler {handler!r}; one of {', '.join(sorted(HANDLERS))}", field="handler")
    return handler


@transaction.atomic
def source_create(*, actor: Actor, name: str, handler: str, slug: str = "",
                  rate_limit_per_minute: int = 100) -> WebhookSource:
    actor.require(WEBHOOKS_MANAGE)
    name = name.strip()
    slug = slugify(slug or name)[:60]
    if not name or not slug:
        raise InvalidInput("The source needs a name of letters or digits", field="name")
    if not 1 <= rate_limit_per_minute <= 100_000:
        raise InvalidInput("The rate limit must be 1–100000 per minute", field="rate_limit_per_minute")
    try:
        with transaction.atomic():
            source = WebhookSource.objects.create(organization=actor.organization, name=name, slug=slug,
                                                  handler=_check_handler(handler), secret=_new_secret(),
                                                  rate_limit_per_minute=rate_limit_per_minute)
    except IntegrityError as error:  # the unique (organization, slug) constraint, also under a race
        raise Conflict(f"A source with the slug {slug!r} exists already", field="slug") from error
    audit_record(actor=actor, action="webhook_source.create", obj=source, after=snapshot(source, SOURCE_AUDITED))
    return source


@transaction.atomic
def source_update(*, actor: Actor, source: WebhookSource, name: str | None = None, handler: str | None = None,
                  is_active: bool | None = None, rate_limit_per_minute: int | None = None) -> WebhookSource:
    actor.require(WEBHOOKS_MANAGE)
    source = WebhookSource.objects.select_for_update().get(pk=source.pk)
    with audited_update(actor=actor, obj=source, fields=SOURCE_AUDITED, action="webhook_source.update") as change:
        if name is not None:
            if not name.strip():
                raise InvalidInput("The source needs a name", field="name")
            source.name = name.strip()
        if handler is not None:
            source.handler = _check_handler(handler)
        if is_active is not None:
            source.is_active = is_active
        if rate_limit_per_minute is not None:
            if not 1 <= rate_limit_per_minute <= 100_000:
                raise InvalidInput("The rate limit must be 1–100000 per minute", field="rate_limit_per_minute")
            source.rate_limit_per_minute = rate_limit_per_minute
    if change.changed:
        transaction.on_commit(source_cache_clear)
    return source


def _rotate_secret(holder: SigningSecret, keep_previous_hours: int) -> dict[str, Any]:
    """A new secret for a source or subscription (locked by the caller); what the audit row records. The one it
    replaces stays in use for `keep_previous_hours` (0: not at all). Only the secret just replaced is kept: an
    older one still in its window stops now."""
    if (isinstance(keep_previous_hours, bool) or not isinstance(keep_previous_hours, int)
            or not 0 <= keep_previous_hours <= KEEP_PREVIOUS_HOURS_MAX):
        raise InvalidInput(f"Keep the previous secret for 0–{KEEP_PREVIOUS_HOURS_MAX} hours",
                           field="keep_previous_hours")
    if keep_previous_hours:
        holder.previous_secret = holder.secret
        holder.previous_secret_expires_at = timezone.now() + timedelta(hours=keep_previous_hours)
    else:
        holder.previous_secret, holder.previous_secret_expires_at = "", None
    holder.secret = _new_secret()
    holder.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return {"keep_previous_hours": keep_previous_hours, "previous_secret_expires_at": holder.previous_secret_expires_at}


@transaction.atomic
def source_rotate_secret(*, actor: Actor, source: WebhookSource,
                         keep_previous_hours: int = KEEP_PREVIOUS_HOURS_DEFAULT) -> WebhookSource:
    """A new secret; pushes signed with the replaced one are still accepted for `keep_previous_hours`, so the
    sender can switch without refused pushes."""
    actor.require(WEBHOOKS_MANAGE)
    source = WebhookSource.objects.select_for_update().get(pk=source.pk)
    rotated = _rotate_secret(source, keep_previous_hours)
    transaction.on_commit(source_cache_clear)
    audit_record(actor=actor, action="webhook_source.rotate_secret", obj=source, after=rotated)
    return source


def inbound_receive(*, source: WebhookSource, headers: dict[str, Any], body: bytes) -> Receipt:
    """Verify a pushed request, store it as received, and queue its processing — in that order, so an
    accepted payload is never lost, even when processing fails. A delivery id seen before is not stored
    or processed again: the receipt names the first delivery, as a duplicate."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        signing.verify(source.secrets_in_use(), timestamp=lowered.get(signing.TIMESTAMP_HEADER.lower()),
                       signature=lowered.get(signing.SIGNATURE_HEADER.lower()), body=body)
    except signing.SignatureError as error:
        raise Unauthenticated(str(error)) from error
    delivery_id = (lowered.get(signing.DELIVERY_HEADER.lower()) or "").strip()
    if not delivery_id or len(delivery_id) > 100:
        raise InvalidInput(f"{signing.DELIVERY_HEADER} (1–100 characters) is required", field=signing.DELIVERY_HEADER)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("The body must be UTF-8 JSON", field="body") from error
    json_depth_check(text)
    try:
        json.loads(text)
    except ValueError as error:
        raise InvalidInput("The body must be UTF-8 JSON", field="body") from error
    verdict = ratelimit.hit(f"webhook-source:{source.pk}", limit=source.rate_limit_per_minute)
    if not verdict.allowed:
        existing = InboundDelivery.objects.filter(source=source, delivery_id=delivery_id).first()
        if existing:  # a sender's retry of something we have: not refused, whatever the rate
            return Receipt(existing.pk, existing.status, duplicate=True)
        raise RateLimited(f"More than {source.rate_limit_per_minute} deliveries a minute from this source",
                          retry_after=verdict.retry_after)
    stored_pk = inbound_store(source=source, delivery_id=delivery_id, body=text,
                              headers={k: v for k, v in lowered.items() if k in KEPT_HEADERS})
    if stored_pk is None:  # a delivery id seen before (a sender's retry): answer with the first delivery
        existing = InboundDelivery.objects.get(source=source, delivery_id=delivery_id)
        return Receipt(existing.pk, existing.status, duplicate=True)
    return Receipt(stored_pk, InboundDelivery.Status.RECEIVED, duplicate=False)


def inbound_process(*, delivery_id: int, organization_id: int, final_attempt: bool) -> dict[str, Any]:
    """Run the source's handler on a stored delivery. A payload the handler rejects fails for good; other
    errors are raised for the job to retry (the delivery turns dead when the job runs out of attempts).

    The delivery's row is locked while its handler runs, so two jobs for one delivery (a replay from the
    delivery page and one from the dead letters) run one after the other, and the second finds it processed."""
    with transaction.atomic():
        delivery = InboundDelivery.objects.select_for_update(of=("self",)).select_related("source", "organization").get(
            pk=delivery_id, organization_id=organization_id)
        if delivery.status == InboundDelivery.Status.PROCESSED:
            return delivery.result or {}  # a retried job after a crash between commit and result: done already
        handler = HANDLERS.get(delivery.source.handler)
        delivery.attempts += 1
        try:
            if handler is None:
                raise PayloadRejected(f"no handler named {delivery.source.handler!r}")
            # The handler's changes and the "processed" status commit together: a worker lost in between
            # leaves either both or neither.
            with transaction.atomic():
                # Numbers become exact decimals: quantities and prices never pass through floating point.
                result = handler(organization=delivery.organization,
                                 payload=json.loads(delivery.body, parse_float=Decimal))
                delivery.status, delivery.result, delivery.error = InboundDelivery.Status.PROCESSED, result, ""
                delivery.processed_at = timezone.now()
                delivery.save(update_fields=["status", "result", "error", "processed_at", "attempts"])
        except PayloadRejected as error:
            _delivery_failed(delivery, f"rejected: {error}", dead=True)
            return {"rejected": str(error)}
        except Exception as error:
            failure = error
            _delivery_failed(delivery, f"{type(error).__name__}: {error}", dead=final_attempt)
        else:
            return result
    raise failure  # after the failure is committed, for the job to retry


def _delivery_failed(delivery: InboundDelivery, error: str, *, dead: bool) -> None:
    delivery.status = InboundDelivery.Status.DEAD if dead else InboundDelivery.Status.FAILED
    delivery.error = error[:4000]
    delivery.save(update_fields=["status", "error", "attempts"])


@transaction.atomic
def inbound_replay(*, actor: Actor, delivery: InboundDelivery) -> InboundDelivery:
    """Process a stored delivery again (after fixing the handler, the data or the source)."""
    actor.require(WEBHOOKS_MANAGE)
    from stocktrace.webhooks.tasks import process_inbound_delivery

    delivery = InboundDelivery.objects.select_for_update(of=("self",)).select_related("source").get(pk=delivery.pk)
    if delivery.status == InboundDelivery.Status.RECEIVED:
        raise Conflict("This delivery is waiting to be processed already")
    if not delivery.replayable:
        raise Conflict(f"This delivery was processed already, and {delivery.source.handler} is not repeatable: "
                       "replaying it would apply it a second time. Correct the result by hand (stock: with an "
                       "adjustment), or have the sender push a new delivery.")
    before = {"status": delivery.status}
    _queue_again(process_inbound_delivery, delivery)
    delivery.status, delivery.error = InboundDelivery.Status.RECEIVED, ""
    delivery.save(update_fields=["status", "error"])
    audit_record(actor=actor, action="inbound_delivery.replay", obj=delivery, before=before,
                 after={"status": delivery.status})
    return delivery


def _queue_again(task: Task[..., Any], delivery: InboundDelivery | OutboundDelivery) -> None:
    """Have `task` process a finished or failed delivery (inbound or outbound) again. A failed one has a
    retry scheduled already: it is brought forward instead of starting a second job for the delivery."""
    if delivery.status != InboundDelivery.Status.FAILED:  # OutboundDelivery.Status.FAILED is the same value
        task.enqueue(delivery_id=delivery.pk, organization_id=delivery.organization_id)
        return
    scheduled = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=task.module_path, args_kwargs__kwargs__delivery_id=delivery.pk)
    if not scheduled.update(run_after=timezone.now()):
        raise Conflict("This delivery is being attempted right now")


def exact_numbers(value: Any) -> Any:
    """Floats from an already parsed JSON document, back to the exact decimals that were written."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [exact_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: exact_numbers(v) for k, v in value.items()}
    return value


class _DryRunRollback(Exception):
    pass


def inbound_dry_run(*, actor: Actor, source: WebhookSource, payload: Any) -> dict[str, Any]:
    """What the payload would do: the handler runs for real in a transaction that is then rolled back."""
    actor.require(WEBHOOKS_MANAGE)
    handler = HANDLERS.get(source.handler)
    if handler is None:
        return {"ok": False, "error": f"no handler named {source.handler!r}; choose another for this source"}
    outcome: dict[str, Any] = {}
    try:
        with transaction.atomic():
            try:
                outcome = {"ok": True, "result": handler(organization=actor.organization,
                                                         payload=exact_numbers(payload))}
            except PayloadRejected as error:
                outcome = {"ok": False, "error": f"rejected: {error}"}
            except Exception as error:  # what would make the real processing fail (and retry)
                outcome = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            raise _DryRunRollback
    except _DryRunRollback:
        pass
    return outcome


def _check_events(events: list[str]) -> list[str]:
    catalogue = event_catalogue()
    unknown = sorted(set(events) - set(catalogue))
    if not events or unknown:
        raise InvalidInput(f"Choose events among {', '.join(catalogue)}" + (f"; unknown: {unknown}" if unknown else ""),
                           field="events")
    return sorted(set(events))


@transaction.atomic
def subscription_create(*, actor: Actor, url: str, events: list[str], description: str = "") -> WebhookSubscription:
    actor.require(WEBHOOKS_MANAGE)
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("The URL must start with http:// or https://", field="url")
    subscription = WebhookSubscription.objects.create(
        organization=actor.organization, url=url, events=_check_events(events), description=description.strip(),
        secret=_new_secret())
    audit_record(actor=actor, action="webhook_subscription.create", obj=subscription,
                 after=snapshot(subscription, SUBSCRIPTION_AUDITED))
    return subscription


@transaction.atomic
def subscription_update(*, actor: Actor, subscription: WebhookSubscription, url: str | None = None,
                        events: list[str] | None = None, description: str | None = None,
                        is_active: bool | None = None) -> WebhookSubscription:
    actor.require(WEBHOOKS_MANAGE)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    with audited_update(actor=actor, obj=subscription, fields=SUBSCRIPTION_AUDITED,
                        action="webhook_subscription.update"):
        if url is not None:
            if not url.startswith(("http://", "https://")):
                raise InvalidInput("The URL must start with http:// or https://", field="url")
            subscription.url = url
        if events is not None:
            subscription.events = _check_events(events)
        if description is not None:
            subscription.description = description.strip()
        if is_active is not None:
            subscription.is_active = is_active
    return subscription


@transaction.atomic
def subscription_rotate_secret(*, actor: Actor, subscription: WebhookSubscription,
                               keep_previous_hours: int = KEEP_PREVIOUS_HOURS_DEFAULT) -> WebhookSubscription:
    """A new secret; for `keep_previous_hours`, deliveries are signed with both the new and the replaced
    secret, so the receiver can switch without refusing one."""
    actor.require(WEBHOOKS_MANAGE)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    rotated = _rotate_secret(subscription, keep_previous_hours)
    audit_record(actor=actor, action="webhook_subscription.rotate_secret", obj=subscription, after=rotated)
    return subscription


@transaction.atomic
def subscription_ping(*, actor: Actor, subscription: WebhookSubscription) -> OutboundEvent:
    actor.require(WEBHOOKS_MANAGE)
    sender = actor.user.email if actor.user else actor.device
    event = outbox_write(organization=actor.organization, name="ping", subscriptions=[subscription],
                          payload={"subscription_id": subscription.pk, "sent_by": sender})
    assert event is not None  # written for the one subscription given
    audit_record(actor=actor, action="webhook_subscription.ping", obj=subscription, after={"event_id": event.pk})
    return event


@transaction.atomic
def outbound_redeliver(*, actor: Actor, delivery: OutboundDelivery) -> OutboundDelivery:
    actor.require(WEBHOOKS_MANAGE)
    from stocktrace.webhooks.tasks import deliver_outbound

    delivery = OutboundDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status == OutboundDelivery.Status.PENDING:
        raise Conflict("This delivery is still being attempted")
    before = {"status": delivery.status}
    _queue_again(deliver_outbound, delivery)
    delivery.status = OutboundDelivery.Status.PENDING
    delivery.save(update_fields=["status"])
    audit_record(actor=actor, action="outbound_delivery.redeliver", obj=delivery, before=before,
                 after={"status": delivery.status})
    return delivery


@transaction.atomic
def sites_resync_start(*, actor: Actor) -> str:
    """Start the job that announces every site again; returns its id, whose progress the page polls."""
    actor.require(WEBHOOKS_MANAGE)
    from stocktrace.webhooks.tasks import resync_sites

    result = resync_sites.enqueue(organization_id=actor.organization.pk)
    audit_record(actor=actor, action="webhooks.resync_sites", obj=actor.organization,
                 after={"task_id": str(result.id)})
    return str(result.id)


def inbound_give_up(*, delivery_id: int, organization_id: int, error: str) -> bool:
    """Its job was dead-lettered while the delivery still waited: dead, with the job's last error. This is
    the case when the worker was lost on the last attempt (the job never got to record it). A delivery
    the job marked processed or dead already is left as it is."""
    return bool(InboundDelivery.objects.filter(
        pk=delivery_id, organization_id=organization_id,
        status__in=[InboundDelivery.Status.RECEIVED, InboundDelivery.Status.FAILED],
    ).update(status=InboundDelivery.Status.DEAD, error=error[:4000], attempts=F("attempts") + 1))


def outbound_give_up(*, delivery_id: int, organization_id: int, error: str) -> bool:
    """As `inbound_give_up`, for an outbound delivery: dead, with the error in its attempt log."""
    delivery = (OutboundDelivery.objects.select_for_update()
                .filter(pk=delivery_id, organization_id=organization_id,
                        status__in=[OutboundDelivery.Status.PENDING, OutboundDelivery.Status.FAILED]).first())
    if delivery is None:
        return False
    OutboundAttempt.objects.create(delivery=delivery, attempted_at=timezone.now(), status_code=None,
                                   response_ms=0.0, error=error[:4000])
    delivery.attempts += 1
    delivery.status = OutboundDelivery.Status.DEAD
    delivery.save(update_fields=["attempts", "status"])
    return True


PRUNE_BATCH = 2000
PRUNE_MAX_PER_KIND = 100_000


def _delete_in_batches(queryset: QuerySet[Any]) -> dict[str, int]:
    """Delete what the queryset matches, a batch per transaction; rows locked by someone else (an admin
    replaying that delivery right now) are skipped. Returns the deleted rows per model, cascades included."""
    counts: dict[str, int] = {}
    deleted = 0
    while deleted < PRUNE_MAX_PER_KIND:
        with exclusive_transaction():
            batch = list(queryset.select_for_update(skip_locked=True).order_by("pk")
                         .values_list("pk", flat=True)[:min(PRUNE_BATCH, PRUNE_MAX_PER_KIND - deleted)])
            if not batch:
                break
            _, per_model = queryset.model.objects.filter(pk__in=batch).delete()
        for label, n in per_model.items():
            counts[label] = counts.get(label, 0) + n
        deleted += len(batch)
        if len(batch) < PRUNE_BATCH:
            break
    return counts


def webhooks_prune(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete finished webhook deliveries older than the retention (processed, delivered or dead; never
    those still waiting or to be retried) and the outbound events left with no delivery."""
    days = settings.STOCKTRACE_WEBHOOK_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < 0:
        raise InvalidInput("The retention cannot be negative", field="older_than_days")
    cutoff = timezone.now() - timedelta(days=days)
    inbound = InboundDelivery.objects.filter(
        Q(status=InboundDelivery.Status.PROCESSED, processed_at__lt=cutoff)
        | Q(status=InboundDelivery.Status.DEAD, received_at__lt=cutoff))
    outbound = OutboundDelivery.objects.filter(
        Q(status=OutboundDelivery.Status.DELIVERED, delivered_at__lt=cutoff)
        | Q(status=OutboundDelivery.Status.DEAD, created_at__lt=cutoff))
    inbound_counts = _delete_in_batches(inbound)
    outbound_counts = _delete_in_batches(outbound)
    # An event gets its deliveries in the transaction that creates it, so an old event without one keeps none.
    events = OutboundEvent.objects.filter(~Exists(OutboundDelivery.objects.filter(event=OuterRef("pk"))),
                                          created_at__lt=cutoff)
    event_counts = _delete_in_batches(events)
    return {
        "inbound_deliveries": inbound_counts.get(InboundDelivery._meta.label, 0),
        "outbound_deliveries": outbound_counts.get(OutboundDelivery._meta.label, 0),
        "outbound_attempts": outbound_counts.get(OutboundAttempt._meta.label, 0),
        "outbound_events": event_counts.get(OutboundEvent._meta.label, 0),
    }
