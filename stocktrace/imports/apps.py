from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "stocktrace.imports"
    label = "imports"
