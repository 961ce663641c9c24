from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stocktrace.events.catalogue import event_publish
from stocktrace.jobs.registry import RetryPolicy, job, periodic
from stocktrace.jobs.services import job_progress_report
from stocktrace.tenancy.models import Organization, Site
from stocktrace.webhooks.delivery import DeliveryFailed, post_signed
from stocktrace.webhooks.models import InboundDelivery, OutboundAttempt, OutboundDelivery

# A delivery that no longer exists (pruned after it was given up on) cannot come back: no point retrying.
INBOUND_POLICY = RetryPolicy(max_attempts=5, base_delay=10, max_delay=600,
                             give_up_on=(InboundDelivery.DoesNotExist,))
OUTBOUND_POLICY = RetryPolicy(max_attempts=8, base_delay=30, max_delay=3600,
                              give_up_on=(OutboundDelivery.DoesNotExist,))


def _attempt(context) -> int:
    return max(1, len(context.task_result.worker_ids))


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _inbound_given_up(error: BaseException, delivery_id: int, organization_id: int) -> None:
    """Dead-lettered: a delivery still waiting turns dead (its worker was lost on the last attempt)."""
    from stocktrace.webhooks.services import inbound_give_up

    inbound_give_up(delivery_id=delivery_id, organization_id=organization_id, error=_described(error))


def _outbound_given_up(error: BaseException, delivery_id: int, organization_id: int) -> None:
    from stocktrace.webhooks.services import outbound_give_up

    outbound_give_up(delivery_id=delivery_id, organization_id=organization_id, error=_described(error))


@job(queue="webhooks", retry=INBOUND_POLICY, takes_context=True, on_dead=_inbound_given_up)
def process_inbound_delivery(context, delivery_id: int, organization_id: int) -> dict:
    from stocktrace.webhooks.services import inbound_process

    return inbound_process(delivery_id=delivery_id, organization_id=organization_id,
                           final_attempt=_attempt(context) >= INBOUND_POLICY.max_attempts)


@job(queue="webhooks", retry=OUTBOUND_POLICY, takes_context=True, on_dead=_outbound_given_up)
def deliver_outbound(context, delivery_id: int, organization_id: int) -> dict:
    delivery = OutboundDelivery.objects.select_related("event", "subscription").get(
        pk=delivery_id, organization_id=organization_id)
    if delivery.status == OutboundDelivery.Status.DELIVERED:
        return {"status": "delivered"}
    event = delivery.event
    status, ms, excerpt, error = post_signed(
        url=delivery.subscription.url, secrets=delivery.subscription.secrets_in_use(), event=event.name,
        delivery_id=str(delivery.pk), timeout=settings.STOCKTRACE_OUTBOUND_TIMEOUT_SECONDS,
        payload={"id": event.pk, "event": event.name, "created_at": event.created_at, "data": event.payload})
    ok = status is not None and 200 <= status < 300
    final = _attempt(context) >= OUTBOUND_POLICY.max_attempts
    with transaction.atomic():
        OutboundAttempt.objects.create(delivery=delivery, attempted_at=timezone.now(), status_code=status,
                                       response_ms=round(ms, 1), error=error, response_excerpt=excerpt)
        delivery.attempts += 1
        delivery.last_status_code = status
        if ok:
            delivery.status, delivery.delivered_at = OutboundDelivery.Status.DELIVERED, timezone.now()
        else:
            delivery.status = OutboundDelivery.Status.DEAD if final else OutboundDelivery.Status.FAILED
        delivery.save(update_fields=["attempts", "last_status_code", "status", "delivered_at"])
    if not ok:
        raise DeliveryFailed(error or f"HTTP {status}")
    return {"status": "delivered", "status_code": status}


@job(queue="webhooks", retry=RetryPolicy(max_attempts=3, base_delay=30), takes_context=True)
def resync_sites(context, organization_id: int) -> dict:
    """Announce every site again (as site.updated) so a new or repaired integration catches up.
    Reports progress for the page that started it."""
    organization = Organization.objects.get(pk=organization_id)
    sites = Site.objects.for_org(organization).filter(archived_at__isnull=True).order_by("pk")
    total, done = sites.count(), 0
    task_id = context.task_result.id
    job_progress_report(task_id=task_id, done=0, total=total, message="starting", organization_id=organization_id)
    for site in sites.iterator(chunk_size=500):
        with transaction.atomic():
            event_publish(organization=organization, name="site.updated",
                          payload={"site": {"id": site.pk, "code": site.code, "name": site.name,
                                            "address": site.address, "archived_at": None}})
        done += 1
        if done % 100 == 0 or done == total:
            job_progress_report(task_id=task_id, done=done, total=total, message=f"{done} of {total} sites sent",
                                organization_id=organization_id)
    return {"sites": done}


@periodic("29 3 * * *")
@job(queue="maintenance", retry=RetryPolicy(max_attempts=3, base_delay=60))
def prune_webhook_deliveries() -> dict:
    """Daily: drop finished webhook deliveries (and events left without any) older than
    STOCKTRACE_WEBHOOK_RETENTION_DAYS."""
    from stocktrace.webhooks.services import webhooks_prune

    return webhooks_prune()
