import json

from django.core.serializers.json import DjangoJSONEncoder

from stocktrace.webhooks.models import OutboundDelivery, OutboundEvent, WebhookSubscription
from stocktrace.webhooks.tasks import deliver_outbound


def outbox_write(*, organization, name: str, payload: dict, subscriptions=None) -> OutboundEvent | None:
    """Write a published event to the outbox and queue one delivery per interested subscription, in the
    publisher's transaction (webhooks listens to every event_publish through this)."""
    if subscriptions is None:
        subscriptions = [s for s in WebhookSubscription.objects.for_org(organization).filter(is_active=True)
                         if name in s.events]
    if not subscriptions:
        return None
    # Decimals and dates become strings here, as they will on the wire.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    event = OutboundEvent.objects.create(organization=organization, name=name, payload=payload)
    for subscription in subscriptions:
        delivery = OutboundDelivery.objects.create(organization=organization, event=event, subscription=subscription)
        deliver_outbound.enqueue(delivery_id=delivery.pk, organization_id=organization.pk)
    return event
