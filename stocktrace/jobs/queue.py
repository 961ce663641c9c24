"""The worker's hot statements, written once per database instead of built by the ORM for every job.

A claim is ONE autocommitted statement, `UPDATE … WHERE id = (SELECT … LIMIT 1 [FOR UPDATE SKIP LOCKED])
RETURNING …`: the job is marked RUNNING (with this worker's id appended) and committed before it runs, as
django-tasks-db's own loop does with BEGIN, SELECT … FOR UPDATE SKIP LOCKED, UPDATE and COMMIT. The result of
a successful job is one UPDATE, which on PostgreSQL rides in the next claim's statement: one round trip a
job. Everything else a job can lead to (failures, retries, dead letters, jobs that take a context) goes
through the ORM: rare paths do not need to be fast. See docs/jobs.md and docs/performance.md.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from stocktrace.core.db import pg_execute

TABLE = DBTaskResult._meta.db_table
ORDER = "priority DESC, run_after ASC, enqueued_at ASC"  # DBTaskResult.Meta.ordering, which the partial index serves


@dataclass(slots=True)
class ClaimedJob:
    id: Any  # uuid.UUID on PostgreSQL, its hex string on SQLite: passed back to the database as it came
    task_path: str
    args: list
    kwargs: dict


@dataclass(slots=True)
class Finished:
    """A job that ran successfully, with its return value as JSON, waiting to be recorded."""

    job: ClaimedJob
    value: str
    at: datetime


def finished(job: ClaimedJob, value, *, at: datetime) -> Finished:
    # Encoded as DBTaskResult.return_value (a JSONField without an encoder) would: a value JSON cannot hold
    # raises here, and the job fails with that error, as in django-tasks-db.
    return Finished(job, json.dumps(value), at)


def ready_job_fields(task: Task) -> dict:
    """What django-tasks-db's `enqueue` writes for `task` besides ids, times and arguments: for code that must
    write a job row in its own SQL statement (stocktrace.webhooks.intake). A test compares the two rows."""
    return {"priority": task.priority, "task_path": task.module_path, "queue_name": task.queue_name,
            "backend_name": task.backend, "run_after": task.run_after or get_date_max()}


def _decoded(value):
    return json.loads(value) if isinstance(value, str) else value


class ReadyJobs:
    """Claims ready jobs of some queues for one worker, and records their successful results."""

    def __init__(self, *, backend_name: str, queue_names: list[str], excluded_queue_names: list[str]):
        self.backend_name = backend_name
        self.queue_names = [] if "*" in queue_names else list(queue_names)
        self.excluded_queue_names = list(excluded_queue_names)
        self.postgres = connection.vendor == "postgresql"
        # The claim's parameters that stay the same for this worker.
        self._fixed_params = {"backend": backend_name, "never": self._when(get_date_max())}
        if self.postgres:
            self._fixed_params.update(queues=self.queue_names, excluded=self.excluded_queue_names)
        else:
            self._fixed_params.update({f"qi{i}": name for i, name in enumerate(self.queue_names)})
            self._fixed_params.update({f"qx{i}": name for i, name in enumerate(self.excluded_queue_names)})
        if self.postgres:
            queues = (" AND queue_name = ANY(%(queues)s)" if self.queue_names else "") + (
                " AND NOT (queue_name = ANY(%(excluded)s))" if self.excluded_queue_names else "")
            self.claim_sql = f"""
                UPDATE {TABLE} SET status = 'RUNNING', started_at = %(now)s,
                       worker_ids = worker_ids || jsonb_build_array(%(worker)s::text)
                WHERE id = (SELECT id FROM {TABLE}
                            WHERE status = 'READY' AND backend_name = %(backend)s{queues}
                              AND (run_after = %(never)s OR run_after <= %(now)s)
                            ORDER BY {ORDER} LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id, task_path, args_kwargs"""
            self.finish_sql = (f"UPDATE {TABLE} SET status = 'SUCCESSFUL', finished_at = %s, return_value = %s::jsonb,"
                               " exception_class_path = '', traceback = '' WHERE id = %s")
            # The last job's result and the next claim in one round trip (different rows; both committed
            # together, before the next job runs).
            self.finish_then_claim_sql = f"""
                WITH finished AS (
                    UPDATE {TABLE} SET status = 'SUCCESSFUL', finished_at = %(finished_at)s,
                           return_value = %(value)s::jsonb, exception_class_path = '', traceback = ''
                    WHERE id = %(finished_id)s)
                {self.claim_sql.strip()}"""
        else:  # SQLite: one UPDATE statement holds the write lock from the SELECT to the write
            queues = "".join(
                f" AND queue_name {op} ({', '.join(f'%(q{kind}{i})s' for i in range(len(names)))})"
                for op, kind, names in (("IN", "i", self.queue_names), ("NOT IN", "x", self.excluded_queue_names))
                if names)
            self.claim_sql = f"""
                UPDATE {TABLE} SET status = 'RUNNING', started_at = %(now)s,
                       worker_ids = json_insert(worker_ids, '$[#]', %(worker)s)
                WHERE id = (SELECT id FROM {TABLE}
                            WHERE status = 'READY' AND backend_name = %(backend)s{queues}
                              AND (run_after = %(never)s OR run_after <= %(now)s)
                            ORDER BY {ORDER} LIMIT 1)
                RETURNING id, task_path, args_kwargs"""
            self.finish_sql = (f"UPDATE {TABLE} SET status = 'SUCCESSFUL', finished_at = %s, return_value = %s,"
                               " exception_class_path = '', traceback = '' WHERE id = %s")

    def _execute(self, sql: str, params):
        if self.postgres:
            return pg_execute(sql, params)
        cursor = connection.cursor()
        cursor.execute(sql, params)
        return cursor

    def _when(self, moment: datetime):
        return moment if self.postgres else connection.ops.adapt_datetimefield_value(moment)

    def claim(self, *, worker_id: str, now: datetime, done: Finished | None = None) -> ClaimedJob | None:
        """The next ready job, claimed for this worker; `done`, the job that ran before, is recorded first
        (on PostgreSQL in the same statement). Recording it twice is harmless."""
        if done is not None and not self.postgres:
            self.record(done)
        params = {**self._fixed_params, "now": self._when(now), "worker": worker_id}
        if done is not None and self.postgres:
            params.update(finished_id=done.job.id, finished_at=done.at, value=done.value)
            row = self._execute(self.finish_then_claim_sql, params).fetchone()
        else:
            row = self._execute(self.claim_sql, params).fetchone()
        if row is None:
            return None
        args_kwargs = _decoded(row[2])
        return ClaimedJob(id=row[0], task_path=row[1], args=args_kwargs["args"], kwargs=args_kwargs["kwargs"])

    def record(self, done: Finished) -> None:
        self._execute(self.finish_sql, [self._when(done.at), done.value, done.job.id])

    @staticmethod
    def stored(job: ClaimedJob) -> DBTaskResult:
        """The ORM row of a claimed job, for the paths that need all of it."""
        return DBTaskResult.objects.get(pk=job.id, status=TaskResultStatus.RUNNING)
