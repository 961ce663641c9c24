from stocktrace.tenancy.roles import Role, permission

WEBHOOKS_MANAGE = permission("webhooks.manage",
                             "Manage inbound webhook sources and outbound subscriptions, see and replay deliveries",
                             {Role.ADMIN})
