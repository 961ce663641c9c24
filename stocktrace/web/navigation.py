"""The main navigation: each app lists its pages in its `urls.py` as `NAVIGATION = [NavLink(…), …]`."""

from dataclasses import dataclass
from functools import cache

from django.urls import reverse

from stocktrace.core.discovery import app_modules
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.roles import Permission


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    permission: Permission | None
    # Where it stands in the bar: apps are discovered in layer order, people expect their own order.
    position: int
    # The link is marked current on pages whose URL name starts with one of these.
    sections: tuple[str, ...] = ()


@cache
def navigation_links() -> tuple[NavLink, ...]:
    links = [link for module in app_modules("urls") for link in getattr(module, "NAVIGATION", [])]
    return tuple(sorted(links, key=lambda link: link.position))


def navigation_for(actor: Actor, current: str | None) -> list[dict]:
    return [{"label": link.label, "url": reverse(link.url_name),
             "current": bool(current and current.startswith(link.sections or (link.url_name.split(":")[-1],)))}
            for link in navigation_links() if link.permission is None or actor.can(link.permission)]
