from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "stocktrace.webhooks"
    label = "webhooks"

    def ready(self):
        from stocktrace.events.catalogue import event_listener_add
        from stocktrace.webhooks.outbox import outbox_write

        event_listener_add(outbox_write)
