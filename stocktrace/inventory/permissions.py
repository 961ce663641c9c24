from stocktrace.tenancy.roles import EVERYONE, Role, permission

INVENTORY_VIEW = permission("inventory.view",
                            "See items, locations, stock on hand, movements and alerts (of one's sites)", EVERYONE)
CATALOG_MANAGE = permission("catalog.manage", "Create and change items, barcodes and locations (of one's sites)",
                            {Role.ADMIN, Role.SUPERVISOR})
STOCK_MOVE = permission("stock.move", "Post receipts, issues and transfers (at one's sites)",
                        {Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER})
STOCK_ADJUST = permission("stock.adjust", "Post adjustments with a reason (at one's sites)",
                          {Role.ADMIN, Role.SUPERVISOR})
ALERTS_MANAGE = permission("alerts.manage", "Acknowledge, resolve and recheck stock alerts",
                           {Role.ADMIN, Role.SUPERVISOR})
