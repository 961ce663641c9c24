"""The `stocktrace worker` process: django-tasks-db's worker loop plus retries, heartbeats, the sweeper
for jobs of dead workers, and the periodic scheduler."""

import logging
import os
import random
import socket
import threading
import time
from datetime import timedelta

from django.core.exceptions import SuspiciousOperation
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import Task, TaskContext
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from stocktrace.jobs.failures import job_attempt_failed
from stocktrace.jobs.models import PeriodicSchedule, WorkerHeartbeat
from stocktrace.jobs.queue import ClaimedJob, Finished, ReadyJobs, finished
from stocktrace.jobs.registry import SCHEDULES, WorkerLost

log = logging.getLogger("stocktrace.jobs")

DEFAULT_HEARTBEAT_SECONDS = 5.0
DEFAULT_LEASE_SECONDS = 60.0
# A heartbeat can come late (a busy database, a pause): a lease must outlast a few of them, or the sweep
# takes a healthy worker for a lost one and runs its job a second time.
MIN_LEASE_HEARTBEATS = 3


def lease_problem(*, lease_seconds: float, heartbeat_seconds: float) -> str | None:
    """Why this lease is unsafe with this heartbeat, or None when it is long enough."""
    shortest = round(MIN_LEASE_HEARTBEATS * heartbeat_seconds, 6)  # 3 × 0.2 is 0.6, not 0.6000000000000001
    if lease_seconds < shortest:
        return (f"A lease of {lease_seconds:g} s is shorter than {MIN_LEASE_HEARTBEATS} heartbeats of "
                f"{heartbeat_seconds:g} s ({shortest:g} s): jobs of workers that are still running would be "
                f"swept and run twice. Use --lease {shortest:g} or more, the same on every worker.")
    return None


def heartbeat_beat(worker_id: str, **fields) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen_at=timezone.now(), **fields)


def sweep_lost_jobs(*, lease_seconds: float) -> int:
    """Jobs left RUNNING by a worker whose heartbeat stopped more than a lease ago count as a failed
    attempt (WorkerLost): retried by the policy, or dead-lettered. Returns how many were swept."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds)
    alive = set(WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).values_list("worker_id", flat=True))
    swept = 0
    with exclusive_transaction():
        stale = DBTaskResult.objects.running().filter(started_at__lt=cutoff).select_for_update(skip_locked=True)
        for result in stale:
            owner = result.worker_ids[-1] if result.worker_ids else None
            if owner in alive:
                continue
            job_attempt_failed(result, WorkerLost(f"worker {owner} stopped sending heartbeats"))
            swept += 1
    if swept:
        log.warning("swept %d job(s) of lost workers", swept)
    return swept


def periodic_sync() -> None:
    """Make the schedule table match the schedules declared in code."""
    now = timezone.now()
    for name, schedule in SCHEDULES.items():
        row = PeriodicSchedule.objects.filter(name=name).first()
        if row is None:
            PeriodicSchedule.objects.get_or_create(
                name=name, defaults={"cron": schedule.cron.expression, "next_run_at": schedule.cron.next_after(now)})
        elif row.cron != schedule.cron.expression:
            PeriodicSchedule.objects.filter(name=name).update(
                cron=schedule.cron.expression, next_run_at=schedule.cron.next_after(now))


def periodic_enqueue_due() -> list[str]:
    """Enqueue every periodic job that is due, once: the row lock and the advanced `next_run_at` make a
    second scheduler skip it. Missed periods (the system was down) are not caught up one by one."""
    now = timezone.now()
    enqueued = []
    with exclusive_transaction():
        due = (PeriodicSchedule.objects.select_for_update(skip_locked=True)
               .filter(next_run_at__lte=now, name__in=list(SCHEDULES)))
        for row in due:
            schedule = SCHEDULES[row.name]
            result = schedule.task.enqueue()
            row.next_run_at = schedule.cron.next_after(now)
            row.last_enqueued_at = now
            row.last_task_id = result.id
            row.save(update_fields=["next_run_at", "last_enqueued_at", "last_task_id"])
            enqueued.append(row.name)
    return enqueued


class StocktraceWorker(Worker):
    """django-tasks-db's Worker (signals, options, graceful stop) with our own loop: one-statement claims
    (`ReadyJobs`), retries and dead letters, heartbeats, the sweeper and the periodic scheduler."""

    def __init__(self, *, heartbeat_seconds: float, lease_seconds: float, schedule: bool, **kwargs):
        super().__init__(**kwargs)
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_seconds = lease_seconds
        self.schedule = schedule
        self.tasks_done = 0
        self.current_task_id = None
        self._stop = threading.Event()
        self._tasks: dict[str, Task] = {}

    def run(self) -> None:
        chores = threading.Thread(target=self._chores, name="worker-chores", daemon=True)
        # The heartbeat is written inside the try: a stop signal (its handler exits at once while no job runs)
        # arriving just after it was written still removes it on the way out.
        try:
            now = timezone.now()
            WorkerHeartbeat.objects.update_or_create(
                worker_id=self.worker_id,
                defaults={"hostname": socket.gethostname()[:255], "pid": os.getpid(),
                          "queues": ",".join(self.queue_names)[:255], "started_at": now, "last_seen_at": now},
            )
            if self.schedule:
                periodic_sync()
            chores.start()
            self._loop()
        finally:
            self._stop.set()
            if chores.is_alive():
                chores.join(timeout=self.heartbeat_seconds + 5)
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()

    def _loop(self) -> None:
        log.info("worker %s on queues %s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 (spreads a fleet of workers started together)
        ready = ReadyJobs(backend_name=self.backend_name, queue_names=self.queue_names,
                          excluded_queue_names=self.excluded_queue_names)
        checked_at = 0.0
        done = None  # the last job's result, recorded with the next claim
        try:
            while self.running:
                # Connection health (CONN_HEALTH_CHECKS, CONN_MAX_AGE) is checked once a second while busy and
                # after every idle wait, not twice per job as django-tasks-db does: that is a round trip per job.
                if time.monotonic() - checked_at >= 1.0:
                    close_old_connections()
                    checked_at = time.monotonic()
                # While a result rides in the claim, a stop signal waits for the statement, as for a job.
                self.running_task = done is not None
                try:
                    job = ready.claim(worker_id=self.worker_id, now=timezone.now(), done=done)
                except OperationalError as error:
                    if not is_locked_database_exception(error):
                        raise
                    job, claimed = None, False  # SQLite busy: try again; a batch run is not over
                else:
                    claimed, done = True, None
                finally:
                    self.running_task = False
                if job is not None:
                    done = self.run_task(job, ready)
                elif self.batch and claimed:
                    log.info("worker %s: no more jobs, exiting", self.worker_id)
                    return
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    return
                if self.running and job is None:
                    time.sleep(self.interval)
                    checked_at = 0.0
        finally:
            if done is not None:  # stopping: record the last result now (else the sweeper retries the job)
                ready.record(done)

    def _chores(self) -> None:
        """Heartbeat, periodic scheduling and sweeping, on their own connection, while jobs run."""
        ticks_per_sweep = max(1, int(self.lease_seconds / 2 / max(self.heartbeat_seconds, 0.01)))
        tick = 0
        try:
            while not self._stop.wait(self.heartbeat_seconds):
                close_old_connections()
                try:
                    heartbeat_beat(self.worker_id, tasks_done=self.tasks_done, current_task_id=self.current_task_id)
                    if self.schedule:
                        periodic_enqueue_due()
                    if tick % ticks_per_sweep == 0:
                        sweep_lost_jobs(lease_seconds=self.lease_seconds)
                except Exception:  # a chore that fails once must not stop the heartbeat for good
                    log.exception("worker chores failed; retrying at the next beat")
                tick += 1
        finally:
            connection.close()

    def _task(self, path: str) -> Task:
        task = self._tasks.get(path)
        if task is None:
            task = import_string(path)
            if not isinstance(task, Task):
                raise SuspiciousOperation(f"{path} is not a task")
            self._tasks[path] = task
        return task

    # Not db_worker's run_task: run() above replaces the loop that was its only caller.
    def run_task(self, job: ClaimedJob, ready: ReadyJobs) -> Finished | None:  # type: ignore[override]
        """Run a claimed job. Its result, when it succeeded, is returned to be recorded with the next claim;
        a failure is recorded here (retry or dead letter)."""
        # The heartbeat reports the current job from the chores thread: no extra write per job here.
        self.running_task = True
        self.current_task_id = job.id
        try:
            task = self._task(job.task_path)
            if task.takes_context:
                stored = ready.stored(job)
                value = task.call(TaskContext(task_result=stored.task_result), *job.args, **job.kwargs)
            else:
                value = task.call(*job.args, **job.kwargs)
            return finished(job, value, at=timezone.now())
        except BaseException as error:  # noqa: BLE001 (a job's failure, whatever it is, is recorded)
            log.warning("job %s %s failed: %r", job.task_path, job.id, error)
            interrupted = isinstance(error, KeyboardInterrupt | SystemExit)
            with transaction.atomic():
                # A stop signal cut the job short: not the job's fault, so retried like a lost worker's.
                job_attempt_failed(ready.stored(job), WorkerLost("worker stopped during the job") if interrupted
                                   else error)
            if interrupted:
                raise
            return None
        finally:
            self.running_task = False
            self._run_tasks += 1
            self.tasks_done += 1
            self.current_task_id = None
