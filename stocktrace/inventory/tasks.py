from stocktrace.inventory.services.alerts import alerts_expiry_scan
from stocktrace.jobs.registry import RetryPolicy, job, periodic


@periodic("5 2 * * *")
@job(queue="maintenance", retry=RetryPolicy(max_attempts=3, base_delay=300))
def scan_expiry() -> dict:
    """Daily at 02:05 UTC: expiring and expired lots become alerts."""
    return alerts_expiry_scan()
