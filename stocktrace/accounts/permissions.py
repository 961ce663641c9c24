from stocktrace.tenancy.roles import EVERYONE, Role, permission

ORG_VIEW = permission("org.view", "See the organization's name and settings", EVERYONE)
ORG_MANAGE = permission("org.manage", "Rename the organization, change its settings", {Role.ADMIN})
MEMBERS_VIEW = permission("members.view",
                          "List members, their roles and site assignments; see users without a site",
                          {Role.ADMIN, Role.SUPERVISOR})
MEMBERS_MANAGE = permission("members.manage", "Invite members, change roles, assign sites, deactivate members",
                            {Role.ADMIN})
TOKENS_OWN = permission("tokens.own", "Create, list and revoke one's own API tokens", EVERYONE)
