from django.db import transaction

from stocktrace.audit.services import audit_record
from stocktrace.events.catalogue import event_publish
from stocktrace.tenancy.actor import Actor
from tests.example_domain.permissions import EXAMPLE_VIEW


@transaction.atomic
def example_ping(*, actor: Actor) -> dict[str, bool]:
    actor.require(EXAMPLE_VIEW)
    audit_record(actor=actor, action="example.ping", obj=actor.organization)
    event_publish(organization=actor.organization, name="example.pinged", payload={"by": actor.role})
    return {"pong": True}
