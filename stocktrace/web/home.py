"""The home page says what to do next: each app lists, in its `home.py`, the shortcuts to its daily actions
(`SHORTCUTS = [Shortcut(…)]`) and the panels of figures a role acts on (`PANELS = [HomePanel(…)]`); a person
sees those their role may use, in `position` order."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.urls import reverse

from stocktrace.core.discovery import app_modules
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.roles import Permission


@dataclass(frozen=True)
class Shortcut:
    label: str
    url_name: str
    permission: Permission | None
    position: int
    # One line under the label: what it is for.
    hint: str = ""


@dataclass(frozen=True)
class HomePanel:
    # Rendered with the context `build` returns; nothing is shown when it returns None (nothing to act on).
    template: str
    build: Callable[[Actor], dict[str, Any] | None]
    permission: Permission | None
    position: int


def _declared(attribute: str) -> list:
    return [entry for module in app_modules("home") for entry in getattr(module, attribute, [])]


@cache
def shortcuts() -> tuple[Shortcut, ...]:
    return tuple(sorted(_declared("SHORTCUTS"), key=lambda shortcut: shortcut.position))


@cache
def panels() -> tuple[HomePanel, ...]:
    return tuple(sorted(_declared("PANELS"), key=lambda panel: panel.position))


def _allowed(actor: Actor, permission: Permission | None) -> bool:
    return permission is None or actor.can(permission)


def shortcuts_for(actor: Actor) -> list[dict[str, str]]:
    return [{"label": s.label, "url": reverse(s.url_name), "hint": s.hint}
            for s in shortcuts() if _allowed(actor, s.permission)]


def panels_for(actor: Actor) -> list[tuple[str, dict[str, Any]]]:
    """(template, context) of each panel the actor may see that has something to show."""
    shown = []
    for panel in panels():
        if _allowed(actor, panel.permission) and (context := panel.build(actor)) is not None:
            shown.append((panel.template, context))
    return shown
