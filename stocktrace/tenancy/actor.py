from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from stocktrace.core.errors import PermissionDenied
from stocktrace.tenancy.permissions import SITES_ALL
from stocktrace.tenancy.roles import Permission, Role, role_has

if TYPE_CHECKING:
    from stocktrace.accounts.models import ApiToken, User
    from stocktrace.tenancy.models import Membership, Organization


@dataclass(frozen=True)
class Actor:
    """Who is acting, in which organization, from where. Every service takes one.

    `membership` is None only for the system actor (CLI and jobs), which acts as an admin.
    """

    organization: Organization
    membership: Membership | None
    ip: str | None = None
    device: str = ""
    token: ApiToken | None = None

    @classmethod
    def system(cls, organization: Organization, device: str = "system") -> Actor:
        return cls(organization=organization, membership=None, device=device)

    @property
    def user(self) -> User | None:
        return self.membership.user if self.membership else None

    @property
    def role(self) -> str:
        return self.membership.role if self.membership else Role.ADMIN

    def can(self, perm: Permission) -> bool:
        return role_has(self.role, perm)

    def require(self, perm: Permission) -> None:
        if not self.can(perm):
            raise PermissionDenied(f"Your role ({self.role}) does not allow {perm.value}")

    @cached_property
    def site_ids(self) -> frozenset[int] | None:
        """The sites this actor may act on; None means every site of the organization."""
        if self.can(SITES_ALL):
            return None
        assert self.membership is not None  # the system actor, the only one without a membership, sees every site
        return frozenset(self.membership.site_assignments.values_list("site_id", flat=True))
