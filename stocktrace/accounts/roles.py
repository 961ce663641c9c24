"""Roles and the permission matrix. docs/permissions.md is generated from MATRIX and checked by a test."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SUPERVISOR = "supervisor", "Supervisor"
    COUNTER = "counter", "Counter"
    BILLER = "biller", "Biller"
    DISPATCHER = "dispatcher", "Dispatcher"
    VIEWER = "viewer", "Viewer"


class Perm(StrEnum):
    ORG_VIEW = "org.view"
    ORG_MANAGE = "org.manage"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    SITES_VIEW = "sites.view"
    SITES_MANAGE = "sites.manage"
    SITES_ALL = "sites.all"
    AUDIT_VIEW = "audit.view"
    TOKENS_OWN = "tokens.own"
    JOBS_VIEW = "jobs.view"
    JOBS_MANAGE = "jobs.manage"
    WEBHOOKS_MANAGE = "webhooks.manage"
    INVENTORY_VIEW = "inventory.view"
    CATALOG_MANAGE = "catalog.manage"
    STOCK_MOVE = "stock.move"
    STOCK_ADJUST = "stock.adjust"
    ALERTS_MANAGE = "alerts.manage"
    INVENTORY_IMPORT = "inventory.import"


EVERYONE = frozenset(Role)

MATRIX: dict[Perm, frozenset[Role]] = {
    Perm.ORG_VIEW: EVERYONE,
    Perm.ORG_MANAGE: frozenset({Role.ADMIN}),
    Perm.MEMBERS_VIEW: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.MEMBERS_MANAGE: frozenset({Role.ADMIN}),
    Perm.SITES_VIEW: EVERYONE,
    Perm.SITES_MANAGE: frozenset({Role.ADMIN}),
    Perm.SITES_ALL: frozenset({Role.ADMIN}),
    Perm.AUDIT_VIEW: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.TOKENS_OWN: EVERYONE,
    Perm.JOBS_VIEW: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.JOBS_MANAGE: frozenset({Role.ADMIN}),
    Perm.WEBHOOKS_MANAGE: frozenset({Role.ADMIN}),
    Perm.INVENTORY_VIEW: EVERYONE,
    Perm.CATALOG_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.STOCK_MOVE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER}),
    Perm.STOCK_ADJUST: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.ALERTS_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.INVENTORY_IMPORT: frozenset({Role.ADMIN}),
}

DESCRIPTIONS: dict[Perm, str] = {
    Perm.ORG_VIEW: "See the organization's name and settings",
    Perm.ORG_MANAGE: "Rename the organization, change its settings",
    Perm.MEMBERS_VIEW: "List members, their roles and site assignments; see users without a site",
    Perm.MEMBERS_MANAGE: "Invite members, change roles, assign sites, deactivate members",
    Perm.SITES_VIEW: "See the sites one is assigned to",
    Perm.SITES_MANAGE: "Create, rename and archive sites",
    Perm.SITES_ALL: "See and act on every site without being assigned",
    Perm.AUDIT_VIEW: "Search the audit log",
    Perm.TOKENS_OWN: "Create, list and revoke one's own API tokens",
    Perm.JOBS_VIEW: "See job statistics and the progress of long jobs",
    Perm.JOBS_MANAGE: "Inspect, replay and discard dead letters (jobs that failed for good)",
    Perm.WEBHOOKS_MANAGE: "Manage inbound webhook sources and outbound subscriptions, see and replay deliveries",
    Perm.INVENTORY_VIEW: "See items, locations, stock on hand, movements and alerts (of one's sites)",
    Perm.CATALOG_MANAGE: "Create and change items, barcodes and locations (of one's sites)",
    Perm.STOCK_MOVE: "Post receipts, issues and transfers (at one's sites)",
    Perm.STOCK_ADJUST: "Post adjustments with a reason (at one's sites)",
    Perm.ALERTS_MANAGE: "Acknowledge, resolve and recheck stock alerts",
    Perm.INVENTORY_IMPORT: "Import and export items, locations and opening stock",
}


def role_has(role: str, perm: Perm) -> bool:
    return role in MATRIX[perm]


def matrix_markdown() -> str:
    roles = list(Role)
    lines = [
        "| permission | what it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for perm in Perm:
        marks = " | ".join("yes" if role in MATRIX[perm] else "—" for role in roles)
        lines.append(f"| `{perm.value}` | {DESCRIPTIONS[perm]} | {marks} |")
    return "\n".join(lines) + "\n"
