from stocktrace.tenancy.roles import EVERYONE, Role, permission

COUNTS_VIEW = permission("counts.view", "See count sessions, their areas and progress (of one's sites)", EVERYONE)
COUNTS_MANAGE = permission("counts.manage",
                           "Plan, start and cancel counts; assign, approve and reject areas; resolve exceptions",
                           {Role.ADMIN, Role.SUPERVISOR})
COUNTS_SCAN = permission("counts.scan", "Claim count areas, scan items into them, undo and submit them",
                         {Role.ADMIN, Role.SUPERVISOR, Role.COUNTER})
COUNTS_EXPECTED = permission("counts.expected", "See expected quantities and variances, also in blind counts",
                             {Role.ADMIN, Role.SUPERVISOR})
