from stocktrace.inventory.services.alerts import alerts_expiry_scan
from stocktrace.jobs.registry import RetryPolicy, job, periodic


@periodic("5 2 * * *")
@job(queue="maintenance", retry=RetryPolicy(max_attempts=3, base_delay=300))
def scan_expiry() -> dict:
    """Daily at 02:05 UTC: expiring and expired lots become alerts."""
    return alerts_expiry_scan()


@job(queue="maintenance", retry=RetryPolicy(max_attempts=3, base_delay=60), takes_context=True)
def recheck_alerts(context, organization_id: int) -> dict:
    """Recompute the organization's stock alerts (levels and expiry), reporting progress to the page that
    started it."""
    from stocktrace.inventory.services.alerts import alerts_recheck
    from stocktrace.jobs.services import job_progress_report
    from stocktrace.tenancy.models import Organization

    task_id = context.task_result.id

    def progress(done: int, total: int) -> None:
        job_progress_report(task_id=task_id, done=done, total=total, organization_id=organization_id,
                            message=f"{done} of {total} items × sites checked")

    job_progress_report(task_id=task_id, done=0, total=1, message="starting", organization_id=organization_id)
    result = alerts_recheck(organization=Organization.objects.get(pk=organization_id), progress=progress)
    checked = max(result["pairs_checked"], 1)
    job_progress_report(task_id=task_id, done=checked, total=checked, organization_id=organization_id,
                        message=f"done: {result['open_after']} open alerts (were {result['open_before']})")
    return result
