import datetime
import decimal
import uuid

from django.db import models

from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.actor import Actor


def _json_safe(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """The audited state of an object: the named fields as JSON-safe values (FKs by id)."""
    state = {}
    for name in fields:
        field = obj._meta.get_field(name)
        state[name] = _json_safe(getattr(obj, field.attname))
    return state


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    user = actor.user
    return AuditEvent.objects.create(
        organization=actor.organization,
        actor=user,
        actor_email=user.email if user else actor.device,
        token_prefix=actor.token.prefix if actor.token else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=_json_safe(before),
        after=_json_safe(after),
        ip=actor.ip,
        device=actor.device[:200],
    )
