from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "stocktrace.accounts"
    label = "accounts"
