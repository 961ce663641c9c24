from datetime import datetime

from django.db import models
from django.utils import timezone

from stocktrace.events.inbound import handler_is_repeatable
from stocktrace.tenancy.models import TenantOwned


class SigningSecret(models.Model):
    """The shared secret requests are signed with. After a rotation, the replaced secret stays in use until
    `previous_secret_expires_at`, so the other side can switch over without a refused request."""

    secret = models.CharField(max_length=128)
    previous_secret = models.CharField(max_length=128, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def previous_secret_in_use_until(self, now: datetime | None = None) -> datetime | None:
        """When the secret replaced by the last rotation goes out of use; None when it is not in use anymore."""
        expires = self.previous_secret_expires_at
        if not self.previous_secret or expires is None or expires <= (now or timezone.now()):
            return None
        return expires

    def secrets_in_use(self) -> list[str]:
        """The secret, and the one it replaced while that is still in its window: pushes signed with either are
        accepted; outbound deliveries carry a signature made with each."""
        if self.previous_secret_in_use_until():
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookSource(TenantOwned, SigningSecret):
    """A system that pushes to us (an ERP, a WMS), with the secret its requests are signed with."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60)
    handler = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_webhook_source_slug")]

    def __str__(self) -> str:
        return self.name


class InboundStatus(models.TextChoices):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"


class InboundDelivery(TenantOwned):
    """One request from a source, stored as received (body and headers) before anything is done with it."""

    Status = InboundStatus

    # No index of its own: the unique (source, delivery_id) index leads with it. Every push writes each index.
    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    delivery_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    headers = models.JSONField()
    body = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="uniq_inbound_delivery")]
        indexes = [models.Index(fields=["source", "received_at"], name="inbound_source_time_idx")]

    def __str__(self) -> str:
        return f"{self.source} #{self.delivery_id}"

    @property
    def replayable(self) -> bool:
        """Not while waiting; once processed, only when its handler is repeatable (an upsert, not a posting)."""
        if self.status == self.Status.RECEIVED:
            return False
        return self.status != self.Status.PROCESSED or handler_is_repeatable(self.source.handler)


class WebhookSubscription(TenantOwned, SigningSecret):
    """An integration that wants to hear about events: where to POST them and the secret to sign with."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class OutboundEvent(TenantOwned):
    """The outbox: an event, written in the same transaction as the change it announces."""

    name = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


class OutboundDelivery(TenantOwned):
    Status = DeliveryStatus

    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subscription", "created_at"], name="outbound_sub_time_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription}"


class OutboundAttempt(models.Model):
    delivery = models.ForeignKey(OutboundDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.FloatField()
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at}: {self.status_code or self.error}"
