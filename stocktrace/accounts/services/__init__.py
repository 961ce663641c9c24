"""Every write of people and access: organizations with their first admin, members, API tokens."""

from stocktrace.accounts.services.members import (
    TOKEN_PREFIX,
    member_change,
    member_invite,
    member_password_link,
    member_sites_set,
    member_update,
    password_change_audit,
    password_set_path,
    token_authenticate,
    token_create,
    token_revoke,
)
from stocktrace.accounts.services.organizations import organization_create, organization_update
from stocktrace.accounts.services.sites import site_archive, site_archive_check_add, site_create, site_update

__all__ = [
    "TOKEN_PREFIX", "member_change", "member_invite", "member_password_link", "member_sites_set", "member_update",
    "organization_create", "organization_update", "password_change_audit", "site_archive", "site_archive_check_add",
    "site_create", "site_update", "password_set_path", "token_authenticate",
    "token_create", "token_revoke",
]
