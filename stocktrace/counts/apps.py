from django.apps import AppConfig


class CountsConfig(AppConfig):
    name = "stocktrace.counts"
    label = "counts"
