"""EXPERIMENT, not application code: what the cuts found by `bench/jobs_throughput.py --profile` would buy.

`bench/jobs_throughput.py --lean` runs this as a third side next to `stocktrace worker` and the raw baseline:
the same StocktraceWorker (heartbeats, chores thread, failure path with retries and dead letters) with its per-job
loop changed in three ways, PostgreSQL only:

1. the claim is ONE precompiled autocommitted statement, `UPDATE ... SET status='RUNNING' ... WHERE id =
   (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING ...`, instead of BEGIN + ORM-built SELECT ... FOR UPDATE
   SKIP LOCKED + Model.save() UPDATE + COMMIT (4 round trips and two ORM compilations -> 1 round trip, none);
2. the result is a precompiled UPDATE instead of Model.save(update_fields=...);
3. no `SELECT 1` health check per job: close_old_connections() runs when idle or once a second, not twice a job.

The claim is still committed before the job runs and the result after it, as in the raw baseline.
Run as a worker process: `python bench/jobs_lean_worker.py` (DATABASE_URL, DJANGO_SETTINGS_MODULE set).
"""

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("stocktrace.jobs")


def build():
    from django.db import close_old_connections, connection, transaction
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult, get_date_max

    from stocktrace.jobs.failures import job_attempt_failed
    from stocktrace.jobs.worker import StocktraceWorker

    table = DBTaskResult._meta.db_table
    columns = [f.column for f in DBTaskResult._meta.concrete_fields]
    claim_sql = f"""
        UPDATE {table} SET status = 'RUNNING', started_at = %s, worker_ids = worker_ids || jsonb_build_array(%s::text)
        WHERE id = (SELECT id FROM {table}
                    WHERE status = 'READY' AND backend_name = %s AND queue_name = ANY(%s)
                      AND (run_after = %s OR run_after <= %s)
                    ORDER BY priority DESC, run_after ASC, enqueued_at ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING {", ".join(columns)}"""
    finish_sql = (f"UPDATE {table} SET status = 'SUCCESSFUL', finished_at = %s, return_value = %s, "
                  "exception_class_path = '', traceback = '' WHERE id = %s")
    return_field = DBTaskResult._meta.get_field("return_value")
    date_max = get_date_max()

    class LeanLoop(Worker):
        def run(self) -> None:
            from django.utils import timezone

            checked = 0.0
            while self.running:
                if time.monotonic() - checked > 1.0:
                    close_old_connections()
                    checked = time.monotonic()
                now = timezone.now()
                result = next(iter(DBTaskResult.objects.raw(
                    claim_sql, [now, self.worker_id, self.backend_name, self.queue_names, date_max, now])), None)
                if result is not None:
                    self.run_task(result)
                elif self.batch:
                    return
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    return
                if result is None:
                    close_old_connections()
                    checked = time.monotonic()
                    time.sleep(self.interval)

    class LeanWorker(StocktraceWorker, LeanLoop):  # StocktraceWorker.run -> super().run() -> LeanLoop.run
        def run_task(self, db_task_result: DBTaskResult) -> None:
            task = db_task_result.task
            if task.takes_context:
                return super().run_task(db_task_result)
            self.running_task = True
            self.current_task_id = db_task_result.id
            try:
                args = db_task_result.args_kwargs
                value = task.call(*args["args"], **args["kwargs"])
                from django.utils import timezone

                with connection.cursor() as cursor:
                    cursor.execute(finish_sql, [timezone.now(), return_field.get_db_prep_save(value, connection),
                                                db_task_result.id])
            except BaseException as error:  # noqa: BLE001 (the same failure path as StocktraceWorker)
                log.warning("job %s %s failed: %r", db_task_result.task_path, db_task_result.id, error)
                with transaction.atomic():
                    job_attempt_failed(db_task_result, error)
                if isinstance(error, KeyboardInterrupt | SystemExit):
                    raise
            finally:
                self.running_task = False
                self._run_tasks += 1
                self.tasks_done += 1
                self.current_task_id = None

    return LeanWorker


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.utils.crypto import get_random_string

    worker = build()(
        queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id=get_random_string(32), excluded_queue_names=[], heartbeat_seconds=5.0,
        lease_seconds=60.0, schedule=False)
    worker.configure_signals()
    worker.run()


if __name__ == "__main__":
    main()
