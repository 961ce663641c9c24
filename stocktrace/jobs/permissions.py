from stocktrace.tenancy.roles import Role, permission

JOBS_VIEW = permission("jobs.view", "See job statistics and the progress of long jobs", {Role.ADMIN, Role.SUPERVISOR})
JOBS_MANAGE = permission("jobs.manage", "Inspect, replay and discard dead letters (jobs that failed for good)",
                         {Role.ADMIN})
