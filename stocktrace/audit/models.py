from typing import Any, ClassVar, NoReturn, Self

from django.conf import settings
from django.db import models

from stocktrace.tenancy.models import Organization, TenantOwned, TenantQuerySet


class AuditEventQuerySet(TenantQuerySet["AuditEvent"]):
    def for_org(self, organization: Organization | int) -> Self:
        return self.filter(organization=organization)

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("The audit log is append-only")

    def delete(self) -> NoReturn:
        raise TypeError("The audit log is append-only")


class AuditEvent(TenantOwned):
    """One state change: who, what, when, from where, before and after. Never updated or deleted
    (a database trigger refuses UPDATE, see migration 0002). People who acted are deactivated, not
    deleted, so `actor` protects them."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    token_prefix = models.CharField(max_length=12, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    device = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["organization", "actor"], name="audit_actor_idx"),
            models.Index(fields=["organization", "actor_email"], name="audit_actor_email_idx"),
            models.Index(fields=["organization", "action"], name="audit_action_idx"),
            models.Index(fields=["organization", "created_at"], name="audit_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("The audit log is append-only")
