"""Finding each app's pieces by convention: `<app>/tasks.py`, `events.py`, `inbound.py`, `permissions.py`,
`api.py`, `urls.py`. The lower layers collect what the apps above them declare, without importing them by
name, so a new app is picked up by being installed."""

import importlib
from types import ModuleType

from django.apps import apps
from django.conf import settings


def app_modules(module_name: str) -> list[ModuleType]:
    """`<app>.<module_name>` of each of stocktrace's apps (settings.STOCKTRACE_APPS) that has one, in layer order."""
    found = []
    ours = set(settings.STOCKTRACE_APPS)
    for config in apps.get_app_configs():
        if config.name not in ours:
            continue
        dotted = f"{config.name}.{module_name}"
        try:
            found.append(importlib.import_module(dotted))
        except ModuleNotFoundError as exc:
            if exc.name != dotted:
                raise
    return found
