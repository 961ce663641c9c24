from stocktrace.jobs.registry import RetryPolicy, job, periodic
from stocktrace.jobs.services import jobs_prune


@periodic("17 3 * * *")
@job(queue="maintenance", retry=RetryPolicy(max_attempts=3, base_delay=60))
def prune_job_results() -> dict:
    """Daily: drop job results older than STOCKTRACE_JOB_RESULT_DAYS."""
    return jobs_prune()


@job(queue="default", retry=RetryPolicy(max_attempts=1))
def noop(organization_id: int | None = None, n: int = 0) -> int:
    """Does nothing: smoke tests of the workers and the throughput benchmark use it."""
    return n
