"""Finding each app's pieces by convention: `<app>/tasks.py`, `events.py`, `inbound.py`, `permissions.py`,
`api.py`, `urls.py`. The lower layers collect what the apps above them declare, without importing them by
name, so a new app is picked up by being installed."""

import importlib
from types import ModuleType

from django.apps import apps


def app_modules(module_name: str) -> list[ModuleType]:
    """`<app>.<module_name>` of every installed stocktrace app that has one, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("stocktrace."):
            continue
        dotted = f"{config.name}.{module_name}"
        try:
            found.append(importlib.import_module(dotted))
        except ModuleNotFoundError as exc:
            if exc.name != dotted:
                raise
    return found
