"""What happens when an attempt fails: retry later, or dead-letter."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from stocktrace.events.catalogue import event_publish
from stocktrace.jobs.models import DeadLetter, JobFailure
from stocktrace.jobs.registry import on_dead_for, policy_for
from stocktrace.tenancy.models import Organization

log = logging.getLogger("stocktrace.jobs")


def organization_id_of(result: DBTaskResult) -> int | None:
    """Jobs done for a tenant carry `organization_id` among their keyword arguments."""
    value = (result.args_kwargs or {}).get("kwargs", {}).get("organization_id")
    if isinstance(value, int) and Organization.objects.filter(pk=value).exists():
        return value
    return None


def job_attempt_failed(result: DBTaskResult, error: BaseException) -> DeadLetter | None:
    """Record the failed attempt; put the job back with a backoff delay, or dead-letter it.
    Call inside a transaction holding the job's row."""
    now = timezone.now()
    attempt = max(1, len(result.worker_ids))
    policy = policy_for(result.task_path)
    retry = policy.should_retry(attempt, error)
    message = str(error)[:2000]
    organization_id = organization_id_of(result)
    failure = JobFailure(
        organization_id=organization_id, task_id=result.id, task_path=result.task_path,
        queue_name=result.queue_name, attempt=attempt, failed_at=now, retried=retry,
        exception_class=f"{type(error).__module__}.{type(error).__qualname__}", message=message,
    )
    result.set_failed(error)  # stores class and traceback on the result, as django-tasks does
    failure.traceback = result.traceback
    failure.save()
    if retry:
        DBTaskResult.objects.filter(pk=result.pk).update(
            status=TaskResultStatus.READY, run_after=now + timedelta(seconds=policy.delay(attempt)),
            finished_at=None,
        )
        return None
    first = JobFailure.objects.filter(task_id=result.id).order_by("failed_at").first()
    assert first is not None  # this attempt's failure is saved above
    dead_letter, _ = DeadLetter.objects.update_or_create(
        task_id=result.id,
        defaults={
            "organization_id": organization_id, "task_path": result.task_path, "queue_name": result.queue_name,
            "args_kwargs": result.args_kwargs, "attempts": attempt, "first_failed_at": first.failed_at,
            "last_failed_at": now, "last_error": f"{failure.exception_class}: {message}",
            "status": DeadLetter.Status.DEAD, "resolved_at": None, "resolved_by": None,
        },
    )
    if organization_id:
        event_publish(organization=dead_letter.organization, name="job.dead",
                      payload={"dead_letter": {"id": dead_letter.pk, "task": dead_letter.task_path,
                                               "attempts": attempt, "error": dead_letter.last_error}})
    _call_on_dead(result, error)
    return dead_letter


def _call_on_dead(result: DBTaskResult, error: BaseException) -> None:
    """The job's `on_dead` callback, in a savepoint: if it fails, the dead letter is still written."""
    callback = on_dead_for(result.task_path)
    if callback is None:
        return
    arguments = result.args_kwargs or {}
    try:
        with transaction.atomic():
            callback(error, *arguments.get("args", []), **arguments.get("kwargs", {}))
    except Exception:
        log.exception("the on_dead callback of %s failed for job %s", result.task_path, result.id)
