from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "stocktrace.tenancy"
    label = "tenancy"
