"""Declaring jobs: `@job(...)` makes a django-tasks task with a retry policy; `@periodic(...)` schedules it.

    @periodic("0 3 * * *")
    @job(queue="maintenance", retry=RetryPolicy(max_attempts=3))
    def prune_results(): ...

    send_invoice.enqueue(organization_id=org.pk, invoice_id=7)   # inside the caller's transaction

`@job(..., on_dead=callback)` runs `callback(error, *args, **kwargs)` (the job's own arguments) when the job
becomes a dead letter, in the same transaction: it lets the object the job works on record that it was
given up on, also when the job itself never got to say so (its worker was lost on the last attempt).
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django_tasks import task
from django_tasks.base import Task

from stocktrace.core.discovery import app_modules
from stocktrace.jobs.cron import Cron


class WorkerLost(Exception):
    """The worker running the job stopped sending heartbeats (killed, crashed, machine gone)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails is retried after base × 2^(n-1) seconds (capped at max_delay),
    spread by ±jitter so a burst of failures does not come back as a burst, until max_attempts;
    then the job is dead-lettered. Only exceptions in `retry_on` are retried (and a lost worker, which
    is never the job's own error); others die at once."""

    max_attempts: int = 5
    base_delay: float = 5.0
    max_delay: float = 3600.0
    jitter: float = 0.25
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    give_up_on: tuple[type[BaseException], ...] = ()

    def should_retry(self, attempt: int, error: BaseException) -> bool:
        if attempt >= self.max_attempts or isinstance(error, self.give_up_on):
            return False
        return isinstance(error, (*self.retry_on, WorkerLost))

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return max(0.0, base * (1 + self.jitter * (2 * rand() - 1)))


DEFAULT_POLICY = RetryPolicy()
POLICIES: dict[str, RetryPolicy] = {}


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: Cron
    task: Task = field(repr=False)


SCHEDULES: dict[str, Schedule] = {}
# What to do when a job is dead-lettered, by task path: called with the error and the job's arguments.
DEAD_LETTER_CALLBACKS: dict[str, Callable[..., object]] = {}


def job(*, queue: str = "default", priority: int = 0, retry: RetryPolicy = DEFAULT_POLICY,
        takes_context: bool = False, on_dead: Callable[..., object] | None = None):
    def decorate(func):
        declared = task(func, queue_name=queue, priority=priority, takes_context=takes_context)
        POLICIES[declared.module_path] = retry
        if on_dead is not None:
            DEAD_LETTER_CALLBACKS[declared.module_path] = on_dead
        else:
            DEAD_LETTER_CALLBACKS.pop(declared.module_path, None)
        return declared

    return decorate


def periodic(expression: str, *, name: str | None = None):
    """Enqueue the (argument-less) job once per matching minute, however many workers schedule."""

    def decorate(declared):
        schedule_name = name or declared.module_path
        SCHEDULES[schedule_name] = Schedule(name=schedule_name, cron=Cron.parse(expression), task=declared)
        return declared

    return decorate


def policy_for(task_path: str) -> RetryPolicy:
    return POLICIES.get(task_path, DEFAULT_POLICY)


def on_dead_for(task_path: str) -> Callable[..., object] | None:
    return DEAD_LETTER_CALLBACKS.get(task_path)


def autodiscover() -> None:
    app_modules("tasks")
