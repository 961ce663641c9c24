"""What the home page offers from jobs: for an admin, the jobs that failed for good and whether a worker runs."""

from typing import Any

from stocktrace.jobs.permissions import JOBS_MANAGE
from stocktrace.jobs.selectors import dead_letters_of, workers_alive
from stocktrace.tenancy.actor import Actor
from stocktrace.web.home import HomePanel


def _jobs(actor: Actor) -> dict[str, Any]:
    return {"failed": dead_letters_of(actor=actor).count(), "workers": len(workers_alive())}


PANELS = [HomePanel("jobs/home_jobs.html", _jobs, JOBS_MANAGE, 90)]
