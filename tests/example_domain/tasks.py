from stocktrace.jobs.registry import RetryPolicy, job


@job(queue="maintenance", retry=RetryPolicy(max_attempts=2))
def example_tidy() -> dict:
    return {"tidied": 0}
