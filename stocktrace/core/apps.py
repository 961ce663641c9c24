from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "stocktrace.core"
    label = "core"

    def ready(self):
        from stocktrace.core import lookups  # noqa: F401  (registers `__any`)
