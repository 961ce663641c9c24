from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from stocktrace.core.errors import NotFound
from stocktrace.jobs.models import DeadLetter, JobFailure, JobProgress, WorkerHeartbeat
from stocktrace.jobs.permissions import JOBS_MANAGE, JOBS_VIEW
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization

WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _ms(duration: timedelta | None) -> float | None:
    return round(duration.total_seconds() * 1000, 1) if duration is not None else None


def _scoped(
    results: QuerySet[DBTaskResult[Any, Any]], failures: QuerySet[JobFailure], dead_letters: QuerySet[DeadLetter],
    organization: Organization | None,
) -> tuple[QuerySet[DBTaskResult[Any, Any]], QuerySet[JobFailure], QuerySet[DeadLetter]]:
    if organization is None:
        return results, failures, dead_letters
    return (results.filter(args_kwargs__kwargs__organization_id=organization.pk),
            failures.filter(organization=organization), dead_letters.filter(organization=organization))


def job_stats(*, organization: Organization | None = None) -> dict[str, Any]:
    """Throughput, failures, retries, dead letters and latency per task and queue over the last hour and
    day; queue depth and age of the oldest due job; live workers. Scoped to one organization's jobs when
    given (the API and pages), all jobs otherwise (operators' CLI)."""
    now = timezone.now()
    results, failures, dead_letters = _scoped(DBTaskResult.objects.all(), JobFailure.objects.all(),
                                              DeadLetter.objects.all(), organization)
    windows = {}
    for name, span in WINDOWS.items():
        since = now - span
        rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
            lambda: {"succeeded": 0, "failed_attempts": 0, "retries": 0, "dead": 0, "avg_run_ms": None,
                     "avg_wait_ms": None})
        for row in (results.filter(status=TaskResultStatus.SUCCESSFUL, finished_at__gte=since)
                    .values("task_path", "queue_name")
                    .annotate(n=Count("pk"),
                              run=Avg(ExpressionWrapper(F("finished_at") - F("started_at"), DurationField())),
                              wait=Avg(ExpressionWrapper(F("started_at") - F("enqueued_at"), DurationField())))):
            entry = rows[(row["task_path"], row["queue_name"])]
            entry.update(succeeded=row["n"], avg_run_ms=_ms(row["run"]), avg_wait_ms=_ms(row["wait"]))
        for row in (failures.filter(failed_at__gte=since).values("task_path", "queue_name")
                    .annotate(n=Count("pk"), retried=Count("pk", filter=Q(retried=True)))):
            rows[(row["task_path"], row["queue_name"])].update(failed_attempts=row["n"], retries=row["retried"])
        for row in dead_letters.filter(created_at__gte=since).values("task_path", "queue_name").annotate(n=Count("pk")):
            rows[(row["task_path"], row["queue_name"])]["dead"] = row["n"]
        minutes = span.total_seconds() / 60
        windows[name] = [
            {"task": task, "queue": queue, **entry, "per_minute": round(entry["succeeded"] / minutes, 3)}
            for (task, queue), entry in sorted(rows.items())
        ]
    queues = []
    due = Q(run_after__lte=now) | Q(run_after=get_date_max())  # django-tasks-db: the max date means "now"
    for row in (results.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
                .values("queue_name")
                .annotate(ready=Count("pk", filter=Q(status=TaskResultStatus.READY)),
                          due=Count("pk", filter=Q(status=TaskResultStatus.READY) & due),
                          running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
                          oldest=Min("enqueued_at", filter=Q(status=TaskResultStatus.READY) & due))
                .order_by("queue_name")):
        oldest = row.pop("oldest")
        queues.append({"queue": row.pop("queue_name"), **row,
                       "oldest_due_age_s": round((now - oldest).total_seconds(), 1) if oldest else None})
    return {"generated_at": now, "windows": windows, "queues": queues, "workers": workers_alive()}


def workers_alive() -> list[Mapping[str, Any]]:
    cutoff = timezone.now() - timedelta(seconds=settings.STOCKTRACE_WORKER_STALE_SECONDS)
    return list(WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).order_by("worker_id").values(
        "worker_id", "hostname", "pid", "queues", "started_at", "last_seen_at", "current_task_id", "tasks_done"))


def dead_letters_of(*, actor: Actor, status: str | None = DeadLetter.Status.DEAD,
                    task_path: str | None = None) -> QuerySet[DeadLetter]:
    actor.require(JOBS_MANAGE)
    letters = DeadLetter.objects.filter(organization=actor.organization)
    if status:
        letters = letters.filter(status=status)
    if task_path:
        letters = letters.filter(task_path=task_path)
    return letters


def dead_letter_task_paths(*, actor: Actor) -> list[str]:
    """The jobs the organization has dead letters of (in any status), to filter them by."""
    return list(dead_letters_of(actor=actor, status=None).order_by("task_path")
                .values_list("task_path", flat=True).distinct())


def dead_letter_get(*, actor: Actor, dead_letter_id: int) -> DeadLetter:
    letter = dead_letters_of(actor=actor, status=None).filter(pk=dead_letter_id).first()
    if letter is None:
        raise NotFound("No such dead letter")
    return letter


def dead_letter_attempts(dead_letter: DeadLetter) -> QuerySet[JobFailure]:
    return JobFailure.objects.filter(task_id=dead_letter.task_id).order_by("attempt", "failed_at")


def job_progress_get(*, actor: Actor, task_id: UUID | str) -> dict[str, Any]:
    actor.require(JOBS_VIEW)
    progress = JobProgress.objects.filter(task_id=task_id, organization=actor.organization).first()
    result = DBTaskResult.objects.filter(pk=task_id, args_kwargs__kwargs__organization_id=actor.organization.pk).first()
    if progress is None and result is None:
        raise NotFound("No such job")
    return {
        "task_id": task_id,
        "status": result.status if result else None,
        "done": progress.done if progress else 0,
        "total": progress.total if progress else 0,
        "message": progress.message if progress else "",
        "return_value": result.return_value if result and result.status == TaskResultStatus.SUCCESSFUL else None,
    }


def worker_readiness() -> tuple[bool, str]:
    """Not ready when jobs have been due longer than the stale limit and no worker has been seen in it."""
    now = timezone.now()
    stale = timedelta(seconds=settings.STOCKTRACE_WORKER_STALE_SECONDS)
    alive = WorkerHeartbeat.objects.filter(last_seen_at__gte=now - stale).count()
    long_due = Q(run_after=get_date_max(), enqueued_at__lt=now - stale) | Q(run_after__lt=now - stale)
    waiting = DBTaskResult.objects.ready().filter(long_due).exists()
    if waiting and not alive:
        return False, (f"jobs are waiting and no worker was seen for {int(stale.total_seconds())} s; "
                       "start `stocktrace worker`")
    return True, f"{alive} worker(s) alive"
