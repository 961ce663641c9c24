from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "stocktrace.events"
    label = "events"

    def ready(self):
        from stocktrace.events.inbound import inbound_handlers_discover

        inbound_handlers_discover()
