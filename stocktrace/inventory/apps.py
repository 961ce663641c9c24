from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "stocktrace.inventory"
    label = "inventory"

    def ready(self) -> None:
        from stocktrace.accounts.services import site_archive_check_add
        from stocktrace.inventory.services.ledger import site_without_stock_check

        site_archive_check_add(site_without_stock_check)
