from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "stocktrace.webhooks"
    label = "webhooks"
