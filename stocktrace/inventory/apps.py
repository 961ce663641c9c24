from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "stocktrace.inventory"
    label = "inventory"
