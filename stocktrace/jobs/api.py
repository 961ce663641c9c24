from datetime import datetime
from uuid import UUID

from django_tasks import TaskResultStatus
from ninja import Query, Router, Schema
from pydantic import Field

from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import Cursor, Filters, Input, ObjectId
from stocktrace.jobs import selectors, services
from stocktrace.jobs.models import DeadLetterStatus
from stocktrace.jobs.permissions import JOBS_MANAGE, JOBS_VIEW

router = Router(tags=["jobs"])
ROUTES = [("/jobs", router)]


class TaskStats(Schema):
    task: str
    queue: str
    succeeded: int
    failed_attempts: int
    retries: int
    dead: int
    per_minute: float
    avg_run_ms: float | None
    avg_wait_ms: float | None


class QueueStats(Schema):
    queue: str
    ready: int
    due: int
    running: int
    oldest_due_age_s: float | None


class StatsOut(Schema):
    generated_at: datetime
    windows: dict[str, list[TaskStats]]
    queues: list[QueueStats]
    workers_alive: int


class DeadLetterAttemptOut(Schema):
    attempt: int
    failed_at: datetime
    exception_class: str
    message: str
    traceback: str


class DeadLetterOut(Schema):
    id: int
    task_id: UUID
    task_path: str
    queue_name: str
    status: DeadLetterStatus
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    last_error: str
    resolved_at: datetime | None
    replay_task_id: UUID | None


class DeadLetterDetail(DeadLetterOut):
    args_kwargs: dict
    errors: list[DeadLetterAttemptOut]


class DeadLetterPage(Page):
    items: list[DeadLetterOut]


class DeadLetterFilters(Filters):
    status: DeadLetterStatus | None = DeadLetterStatus.DEAD
    task_path: str | None = Field(None, max_length=255)
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class ReplayMatching(Input):
    task_path: str | None = Field(None, max_length=255, description="only dead letters of this job; all if omitted")


class ReplayedOut(Schema):
    replayed: int


class ProgressOut(Schema):
    task_id: UUID
    status: TaskResultStatus | None = Field(description="null once the finished job's record is pruned")
    done: int
    total: int
    message: str
    return_value: dict | list | int | float | str | None


@router.get("/stats", response=StatsOut)
@requires(JOBS_VIEW)
def jobs_stats(request):
    """Your organization's jobs: throughput, failures, retries, dead letters and latency per task over the
    last hour and day, and queue depth with the age of the oldest due job."""
    stats = selectors.job_stats(organization=request.auth.organization)
    return {**stats, "workers_alive": len(stats.pop("workers"))}


@router.get("/dead-letters", response=DeadLetterPage)
@requires(JOBS_MANAGE)
def dead_letters_index(request, filters: Query[DeadLetterFilters]):
    letters = selectors.dead_letters_of(actor=request.auth, status=filters.status, task_path=filters.task_path)
    return keyset_page(letters, cursor=filters.cursor, limit=filters.limit)


@router.post("/dead-letters/replay", response=ReplayedOut)
@requires(JOBS_MANAGE)
def dead_letters_replay_matching(request, payload: ReplayMatching):
    """Replay every dead letter (of one job, when `task_path` is given)."""
    letters = selectors.dead_letters_of(actor=request.auth, task_path=payload.task_path)
    return {"replayed": services.dead_letters_replay_matching(actor=request.auth, dead_letters=letters)}


@router.get("/dead-letters/{dead_letter_id}", response=DeadLetterDetail)
@requires(JOBS_MANAGE)
def dead_letters_show(request, dead_letter_id: ObjectId):
    """A dead letter with its arguments and every attempt's error and traceback."""
    letter = selectors.dead_letter_get(actor=request.auth, dead_letter_id=dead_letter_id)
    letter.__dict__["errors"] = list(selectors.dead_letter_attempts(letter))  # for DeadLetterDetail
    return letter


@router.post("/dead-letters/{dead_letter_id}/replay", response=DeadLetterOut)
@requires(JOBS_MANAGE)
def dead_letters_replay(request, dead_letter_id: ObjectId):
    letter = selectors.dead_letter_get(actor=request.auth, dead_letter_id=dead_letter_id)
    return services.dead_letter_replay(actor=request.auth, dead_letter=letter)


@router.post("/dead-letters/{dead_letter_id}/discard", response=DeadLetterOut)
@requires(JOBS_MANAGE)
def dead_letters_discard(request, dead_letter_id: ObjectId):
    letter = selectors.dead_letter_get(actor=request.auth, dead_letter_id=dead_letter_id)
    return services.dead_letter_discard(actor=request.auth, dead_letter=letter)


@router.get("/{task_id}/progress", response=ProgressOut)
@requires(JOBS_VIEW)
def jobs_progress(request, task_id: UUID):
    """Progress of a long job started by your organization (poll it from the page that started the job)."""
    return selectors.job_progress_get(actor=request.auth, task_id=task_id)
