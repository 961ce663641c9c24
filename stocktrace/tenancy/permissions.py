from stocktrace.tenancy.roles import Role, permission

SITES_ALL = permission("sites.all", "See and act on every site without being assigned", {Role.ADMIN})
