from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from stocktrace.audit.services import audit_record
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.jobs.models import DeadLetter, JobFailure, JobProgress, WorkerHeartbeat
from stocktrace.jobs.permissions import JOBS_MANAGE
from stocktrace.tenancy.actor import Actor


def _audit(actor: Actor | None, action: str, dead_letter: DeadLetter, after: dict[str, Any]) -> None:
    # Dead letters of system jobs (no organization) are handled by operators on the CLI: logged, not audited.
    if actor is not None and dead_letter.organization_id:
        audit_record(actor=actor, action=action, obj=dead_letter, before={"status": DeadLetter.Status.DEAD},
                     after=after)


@transaction.atomic
def dead_letter_replay(*, actor: Actor | None, dead_letter: DeadLetter) -> DeadLetter:
    """Run a dead job again, as a new job with the same arguments and a fresh retry budget."""
    if actor is not None:
        actor.require(JOBS_MANAGE)
    dead_letter = DeadLetter.objects.select_for_update().get(pk=dead_letter.pk)
    if dead_letter.status != DeadLetter.Status.DEAD:
        raise Conflict(f"This dead letter was {dead_letter.status} already")
    try:
        task = import_string(dead_letter.task_path).using(queue_name=dead_letter.queue_name)
    except ImportError as exc:
        raise Conflict(f"The job {dead_letter.task_path} no longer exists; discard it") from exc
    args = dead_letter.args_kwargs
    result = task.enqueue(*args.get("args", []), **args.get("kwargs", {}))
    dead_letter.status = DeadLetter.Status.REPLAYED
    dead_letter.resolved_at = timezone.now()
    dead_letter.resolved_by = actor.user if actor else None
    dead_letter.replay_task_id = result.id
    dead_letter.save(update_fields=["status", "resolved_at", "resolved_by", "replay_task_id"])
    _audit(actor, "dead_letter.replay", dead_letter, {"status": "replayed", "replay_task_id": str(result.id)})
    return dead_letter


@transaction.atomic
def dead_letter_discard(*, actor: Actor | None, dead_letter: DeadLetter) -> DeadLetter:
    if actor is not None:
        actor.require(JOBS_MANAGE)
    dead_letter = DeadLetter.objects.select_for_update().get(pk=dead_letter.pk)
    if dead_letter.status != DeadLetter.Status.DEAD:
        raise Conflict(f"This dead letter was {dead_letter.status} already")
    dead_letter.status = DeadLetter.Status.DISCARDED
    dead_letter.resolved_at = timezone.now()
    dead_letter.resolved_by = actor.user if actor else None
    dead_letter.save(update_fields=["status", "resolved_at", "resolved_by"])
    _audit(actor, "dead_letter.discard", dead_letter, {"status": "discarded"})
    return dead_letter


def dead_letters_replay_matching(*, actor: Actor | None, dead_letters: QuerySet[DeadLetter]) -> int:
    """Replay each dead letter of a filtered set, each in its own transaction (one bad one stops none)."""
    replayed = 0
    for dead_letter in dead_letters.filter(status=DeadLetter.Status.DEAD).order_by("pk"):
        try:
            dead_letter_replay(actor=actor, dead_letter=dead_letter)
        except Conflict:
            continue
        replayed += 1
    return replayed


def job_progress_report(*, task_id: UUID | str, done: int, total: int, message: str = "",
                        organization_id: int | None = None) -> None:
    """Called by a long job as it goes; the page that started it polls the progress."""
    if total < 0 or done < 0:
        raise InvalidInput("Progress cannot be negative")
    JobProgress.objects.update_or_create(
        task_id=task_id,
        defaults={"done": min(done, total) if total else done, "total": total, "message": message[:255],
                  "organization_id": organization_id},
    )


def jobs_prune(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete finished job results, their failures and progress, and old heartbeats. Dead letters stay
    until people resolve them; resolved ones go with the rest."""
    days = settings.STOCKTRACE_JOB_RESULT_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    results = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff)
    dead_ids = DeadLetter.objects.filter(status=DeadLetter.Status.DEAD).values_list("task_id", flat=True)
    results = results.exclude(pk__in=dead_ids)
    pruned_ids = list(results.values_list("pk", flat=True)[:100_000])
    counts = {
        "failures": JobFailure.objects.filter(task_id__in=pruned_ids).delete()[0],
        "progress": JobProgress.objects.filter(task_id__in=pruned_ids).delete()[0],
        "results": DBTaskResult.objects.filter(pk__in=pruned_ids).delete()[0],
        "dead_letters": DeadLetter.objects.exclude(status=DeadLetter.Status.DEAD)
        .filter(resolved_at__lt=cutoff).delete()[0],
        "heartbeats": WorkerHeartbeat.objects.filter(last_seen_at__lt=timezone.now() - timedelta(days=1))
        .delete()[0],
    }
    return counts
