from stocktrace.tenancy.roles import Role, permission

AUDIT_VIEW = permission("audit.view", "Search the audit log", {Role.ADMIN, Role.SUPERVISOR})
