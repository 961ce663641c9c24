from stocktrace.tenancy.roles import Role, permission

INVENTORY_IMPORT = permission("inventory.import", "Import and export items, locations and opening stock",
                              {Role.ADMIN})
