from stocktrace.tenancy.roles import EVERYONE, Role, permission

SITES_VIEW = permission("sites.view", "See the sites one is assigned to", EVERYONE)
SITES_MANAGE = permission("sites.manage", "Create, rename and archive sites", {Role.ADMIN})

SITES_ALL = permission("sites.all", "See and act on every site without being assigned", {Role.ADMIN})
