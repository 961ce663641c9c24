from django.conf import settings
from django.db import models

from stocktrace.tenancy.models import Organization


class JobFailure(models.Model):
    """One failed attempt of a job: kept for its dead letter and for the failure statistics."""

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    task_id = models.UUIDField(db_index=True)
    task_path = models.CharField(max_length=255)
    queue_name = models.CharField(max_length=32)
    attempt = models.PositiveIntegerField()
    failed_at = models.DateTimeField(db_index=True)
    exception_class = models.CharField(max_length=255)
    message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    retried = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.task_path} attempt {self.attempt}: {self.exception_class}"


class DeadLetterStatus(models.TextChoices):
    DEAD = "dead"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetter(models.Model):
    """A job that failed for good: everything needed to understand it and to run it again."""

    Status = DeadLetterStatus

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    task_id = models.UUIDField(unique=True)
    task_path = models.CharField(max_length=255)
    queue_name = models.CharField(max_length=32)
    args_kwargs = models.JSONField()
    attempts = models.PositiveIntegerField()
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DEAD)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    replay_task_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "status"], name="deadletter_org_status_idx")]

    def __str__(self) -> str:
        return f"{self.task_path} ({self.status})"


class WorkerHeartbeat(models.Model):
    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)
    current_task_id = models.UUIDField(null=True, blank=True)
    tasks_done = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.hostname}"


class PeriodicSchedule(models.Model):
    """When a periodic job is next due. Advancing `next_run_at` in the transaction that enqueues the job
    is what makes the enqueue happen once per period, whatever the number of schedulers."""

    name = models.CharField(max_length=255, primary_key=True)
    cron = models.CharField(max_length=100)
    next_run_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_task_id = models.UUIDField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.cron})"


class JobProgress(models.Model):
    """Progress of a long job, for the page that started it."""

    task_id = models.UUIDField(primary_key=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.task_id}: {self.done}/{self.total}"
