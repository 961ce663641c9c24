"""`stocktrace preflight`: the integrity checks an operator runs before a deploy and after an incident.

Each check returns a list of findings (empty when all is well) and says how bad a finding is: `error`
(wrong data: the exit code says so) or `warning` (worth a look before deploying)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # "error" or "warning"
    description: str
    run: Callable[[], list[dict]]


def _ledger_drift() -> list[dict]:
    from stocktrace.inventory.selectors import ledger_drift

    return [{key: str(value) if value is not None else None for key, value in row.items()}
            for row in ledger_drift(limit=100)]


def _members_without_site() -> list[dict]:
    from stocktrace.tenancy.models import Membership
    from stocktrace.tenancy.roles import Role

    members = (Membership.objects.filter(is_active=True, site_assignments__isnull=True).exclude(role=Role.ADMIN)
               .select_related("user", "organization").order_by("organization_id", "pk")[:100])
    return [{"organization": m.organization.slug, "email": m.user.email, "role": m.role} for m in members]


def _dead_letters() -> list[dict]:
    from stocktrace.jobs.models import DeadLetter

    letters = DeadLetter.objects.filter(status=DeadLetter.Status.DEAD).order_by("-pk")[:100]
    return [{"id": d.pk, "task": d.task_path, "error": d.last_error[:200]} for d in letters]


def _stuck_jobs() -> list[dict]:
    from django_tasks_db.models import DBTaskResult

    from stocktrace.jobs.models import WorkerHeartbeat

    cutoff = timezone.now() - timedelta(seconds=settings.STOCKTRACE_WORKER_STALE_SECONDS)
    alive = set(WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).values_list("worker_id", flat=True))
    stuck = []
    for result in DBTaskResult.objects.running().filter(started_at__lt=cutoff)[:500]:
        if not result.worker_ids or result.worker_ids[-1] not in alive:
            stuck.append({"id": str(result.id), "task": result.task_path, "started_at": result.started_at.isoformat()})
    return stuck[:100]


def _waiting_without_worker() -> list[dict]:
    from stocktrace.jobs.selectors import worker_readiness

    ready, detail = worker_readiness()
    return [] if ready else [{"detail": detail}]


def _pending_migrations() -> list[dict]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [{"migration": f"{migration.app_label}.{migration.name}"} for migration, _ in plan]


def _open_critical_alerts() -> list[dict]:
    from stocktrace.inventory.models import StockAlert

    alerts = (StockAlert.objects.filter(status=StockAlert.Status.OPEN, severity=StockAlert.Severity.CRITICAL)
              .select_related("item", "organization").order_by("-pk")[:100])
    return [{"organization": a.organization.slug, "kind": a.kind, "message": a.message} for a in alerts]


CHECKS = [
    Check("migrations", "error", "Every migration is applied", _pending_migrations),
    Check("ledger_drift", "error", "On-hand equals the sum of the stock ledger, for every item × location × lot",
          _ledger_drift),
    Check("stuck_jobs", "error", "No job is left RUNNING by a worker that stopped", _stuck_jobs),
    Check("jobs_without_worker", "error", "Jobs are not waiting with no worker alive", _waiting_without_worker),
    Check("members_without_site", "warning", "Every active non-admin member is assigned to a site (else they see "
          "nothing)", _members_without_site),
    Check("dead_letters", "warning", "No dead letters wait for a decision", _dead_letters),
    Check("critical_alerts", "warning", "No open critical stock alert", _open_critical_alerts),
]


def preflight(only: list[str] | None = None) -> list[dict]:
    report = []
    for check in CHECKS:
        if only and check.name not in only:
            continue
        try:
            findings = check.run()
        except Exception as error:  # a check that cannot run is a finding, not a crash of the whole report
            findings = [{"error": f"the check could not run: {type(error).__name__}: {error}"}]
        report.append({"check": check.name, "level": check.level, "description": check.description,
                       "ok": not findings, "findings": findings})
    return report
