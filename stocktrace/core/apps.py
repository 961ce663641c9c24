from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "stocktrace.core"
    label = "core"
