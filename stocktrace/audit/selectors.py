import datetime

from django.db.models import QuerySet

from stocktrace.audit.models import AuditEvent
from stocktrace.audit.permissions import AUDIT_VIEW
from stocktrace.tenancy.actor import Actor


def audit_events_matching(
    *,
    actor: Actor,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: int | None = None,
    actor_email: str | None = None,
    action: str | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> QuerySet[AuditEvent]:
    actor.require(AUDIT_VIEW)
    events = AuditEvent.objects.for_org(actor.organization).select_related("actor")
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if actor_id:
        events = events.filter(actor_id=actor_id)
    if actor_email:
        events = events.filter(actor_email=actor_email.strip().lower())  # stored lower-case; exact uses the index
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(
            action=action
        )
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events
