import datetime
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import models

from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.actor import Actor


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The audited state of an object: the named fields as JSON-safe values (FKs by id)."""
    state = {}
    for name in fields:
        field = obj._meta.get_field(name)
        assert isinstance(field, models.Field)  # audited fields are concrete
        state[name] = _json_safe(getattr(obj, field.attname))
    return state


def audit_values(*, actor: Actor, action: str, object_type: str, object_id: str, object_repr: str,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of an audit row (JSON fields as JSON-safe values), for `audit_record` and for services
    that write their audit row within their own SQL statement."""
    user = actor.user
    return {
        "organization_id": actor.organization.pk,
        "actor_id": user.pk if user else None,
        "actor_email": user.email if user else actor.device,
        "token_prefix": actor.token.prefix if actor.token else "",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr[:200],
        "before": _json_safe(before),
        "after": _json_safe(after),
        "ip": actor.ip,
        "device": actor.device[:200],
    }


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(**audit_values(
        actor=actor, action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk), object_repr=str(obj),
        before=before, after=after))


@dataclass
class AuditedChange:
    before: dict[str, Any]
    after: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return self.after is not None


@contextmanager
def audited_update(*, actor: Actor, obj: models.Model, fields: list[str], action: str) -> Iterator[AuditedChange]:
    """Change `obj` (locked by the caller) inside the block; if its audited fields differ afterwards it is saved
    and one audit row records before and after. A refusal raised in the block saves nothing.

        with audited_update(actor=actor, obj=site, fields=SITE_AUDITED, action="site.update") as change:
            site.name = name
        if change.changed: ...
    """
    change = AuditedChange(before=snapshot(obj, fields))
    yield change
    after = snapshot(obj, fields)
    if after != change.before:
        obj.save()
        audit_record(actor=actor, action=action, obj=obj, before=change.before, after=after)
        change.after = after
