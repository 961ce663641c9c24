from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "stocktrace.jobs"
    label = "jobs"

    def ready(self):
        # Importing the task modules registers their retry policies and periodic schedules.
        from stocktrace.jobs import registry

        registry.autodiscover()
