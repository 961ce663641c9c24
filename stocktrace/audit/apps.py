from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "stocktrace.audit"
    label = "audit"
