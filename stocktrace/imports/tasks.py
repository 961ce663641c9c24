from django.db import InterfaceError, OperationalError

from stocktrace.jobs.registry import RetryPolicy, job, periodic

# A run is all-or-nothing, so running it again after a lost worker or a dropped connection is safe; bad
# files and refused rows are results, not failures, and are not retried.
IMPORT_POLICY = RetryPolicy(max_attempts=3, base_delay=30, retry_on=(OperationalError, InterfaceError))


@job(queue="imports", retry=IMPORT_POLICY, takes_context=True)
def run_import(context, organization_id: int, run_id: int) -> dict:
    """Check an uploaded import file, or apply it; reports progress for the page that follows it."""
    from stocktrace.imports.services import import_run_execute

    attempt = max(1, len(context.task_result.worker_ids))
    return import_run_execute(organization_id=organization_id, run_id=run_id, task_id=context.task_result.id,
                              final_attempt=attempt >= IMPORT_POLICY.max_attempts)


@periodic("40 3 * * *")
@job(queue="maintenance", retry=RetryPolicy(max_attempts=3, base_delay=300))
def prune_import_files() -> dict:
    """Daily: delete uploaded files of checks never applied, after STOCKTRACE_IMPORT_KEEP_DAYS, and mark
    failed the runs of import commands killed a day ago or more."""
    from stocktrace.imports.services import import_files_prune, imports_interrupted_close

    return {"files_pruned": import_files_prune(), "interrupted_closed": imports_interrupted_close()}
