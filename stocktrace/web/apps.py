from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "stocktrace.web"
    label = "web"
