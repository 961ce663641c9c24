from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "stocktrace.ops"
    label = "ops"
