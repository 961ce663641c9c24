from stocktrace.tenancy.roles import Role, permission

EXAMPLE_VIEW = permission("example.view", "See the example page and call its endpoint", {Role.ADMIN, Role.SUPERVISOR})
