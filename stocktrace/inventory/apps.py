from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "stocktrace.inventory"
    label = "inventory"

    def ready(self) -> None:
        from stocktrace.accounts.services import site_archive_check_add
        from stocktrace.inventory.rules import site_holds_no_stock

        site_archive_check_add(site_holds_no_stock)
