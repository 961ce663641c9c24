"""The jobs app's API endpoints and pages: statistics, dead letters, progress (tests/cases.py describes the
convention)."""

import uuid

from django.utils import timezone

from stocktrace.jobs.models import DeadLetter
from stocktrace.jobs.tasks import noop
from tests.cases import Case, Page


def _dead_letter(own, role, target) -> dict:
    now = timezone.now()
    letter = DeadLetter.objects.create(
        organization=target.organization, task_id=uuid.uuid4(), task_path="stocktrace.jobs.tasks.noop",
        queue_name="default", args_kwargs={"args": [], "kwargs": {"organization_id": target.organization.pk}},
        attempts=1, first_failed_at=now, last_failed_at=now, last_error="Boom")
    return {"dead_letter_id": letter.pk}


def _replay_matching(own, role, target) -> dict:
    _dead_letter(own, role, own)
    return {"task_path": "stocktrace.jobs.tasks.noop"}


def _job(own, role, target) -> dict:
    return {"task_id": noop.enqueue(organization_id=target.organization.pk).id}


API_CASES: dict[str, Case] = {
    "GET /jobs/stats": Case(),
    "GET /jobs/dead-letters": Case(),
    "POST /jobs/dead-letters/replay": Case(body=_replay_matching, audit_action="dead_letter.replay"),
    "GET /jobs/dead-letters/{dead_letter_id}": Case(params=_dead_letter, crosses_tenants=True),
    "POST /jobs/dead-letters/{dead_letter_id}/replay": Case(params=_dead_letter, audit_action="dead_letter.replay",
                                                            crosses_tenants=True),
    "POST /jobs/dead-letters/{dead_letter_id}/discard": Case(params=_dead_letter, audit_action="dead_letter.discard",
                                                             crosses_tenants=True),
    "GET /jobs/{task_id}/progress": Case(params=_job, crosses_tenants=True),
}

PAGES: dict[str, Page] = {
    "jobs": Page(),
    "dead_letters_replay_all": Page("POST", data=lambda *a: {}),
    "dead_letter": Page(kwargs=_dead_letter),
    "dead_letter_action": Page("POST", kwargs=lambda own, role, target: {**_dead_letter(own, role, target),
                                                                         "action": "replay"},
                               data=lambda *a: {}),
}


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /jobs/dead-letters": 4,
    "jobs": 14,
    "dead_letter": 6,
}


def make_rows(tenant, count: int) -> None:
    """More dead letters and more job results of the tenant."""
    for _ in range(count):
        _dead_letter(tenant, None, tenant)
        _job(tenant, None, tenant)
