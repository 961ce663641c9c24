"""Roles and permissions. Each app declares its permissions, with the roles granted each, in its own
`permissions.py`:

    STOCK_MOVE = permission("stock.move", "Post receipts, issues and transfers", {Role.ADMIN, Role.SUPERVISOR})

The matrix is what the apps declare, in INSTALLED_APPS order; docs/permissions.md is generated from it
and checked by a test."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.db import models

from stocktrace.core.discovery import app_modules


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SUPERVISOR = "supervisor", "Supervisor"
    COUNTER = "counter", "Counter"
    BILLER = "biller", "Biller"
    DISPATCHER = "dispatcher", "Dispatcher"
    VIEWER = "viewer", "Viewer"


EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Permission:
    value: str
    description: str
    roles: frozenset[Role]

    @property
    def key(self) -> str:
        """The name templates use: `can.stock_move`."""
        return self.value.replace(".", "_")

    def __str__(self) -> str:
        return self.value


_DECLARED: dict[str, Permission] = {}


def permission(value: str, description: str, roles: Iterable[Role]) -> Permission:
    if value in _DECLARED:
        raise ValueError(f"Permission {value!r} is declared twice")
    declared = Permission(value=value, description=description, roles=frozenset(roles))
    _DECLARED[value] = declared
    return declared


@cache
def all_permissions() -> tuple[Permission, ...]:
    """Every permission the installed apps declare, app by app in INSTALLED_APPS order."""
    return tuple(perm for module in app_modules("permissions") for perm in vars(module).values()
                 if isinstance(perm, Permission))


def role_has(role: str, perm: Permission) -> bool:
    return role in perm.roles


def matrix_markdown() -> str:
    roles = list(Role)
    lines = [
        "| permission | what it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for perm in all_permissions():
        marks = " | ".join("yes" if role in perm.roles else "—" for role in roles)
        lines.append(f"| `{perm.value}` | {perm.description} | {marks} |")
    return "\n".join(lines) + "\n"
