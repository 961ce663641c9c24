"""The events integrations can subscribe to. Each app declares the ones it publishes in its `events.py`:

    EVENTS = {"site.created": "A site was created"}

and announces them with `event_publish`. Who hears them (webhooks fans them out to subscriptions) registers a
listener; the publishing app does not know it."""

from functools import cache
from typing import Protocol

from stocktrace.core.discovery import app_modules


class ImproperlyDeclared(Exception):
    pass


class EventListener(Protocol):
    def __call__(self, *, organization, name: str, payload: dict) -> object: ...


_listeners: list[EventListener] = []


@cache
def event_catalogue() -> dict[str, str]:
    """Every declared event and what it means, app by app in INSTALLED_APPS order."""
    catalogue: dict[str, str] = {}
    for module in app_modules("events"):
        for name, description in module.EVENTS.items():
            if name in catalogue:
                raise ImproperlyDeclared(f"Event {name!r} is declared twice (again in {module.__name__})")
            catalogue[name] = description
    return catalogue


def event_listener_add(listener: EventListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def event_publish(*, organization, name: str, payload: dict) -> None:
    """Announce a change, inside the caller's transaction: listeners write what they need in it (webhooks
    its outbox), so the announcement exists exactly when the change it announces was committed."""
    if name not in event_catalogue():
        raise ValueError(f"Unknown event {name!r}; declare it in the EVENTS of its app's events.py")
    for listener in _listeners:
        listener(organization=organization, name=name, payload=payload)

