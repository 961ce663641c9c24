from typing import TYPE_CHECKING

from django.db.models import QuerySet

from stocktrace.tenancy.models import Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from stocktrace.accounts.models import User


def active_memberships(user: "User | AnonymousUser") -> QuerySet[Membership]:
    """The organizations a user may act in, oldest membership first."""
    if not user.is_authenticated or not user.is_active:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
        .select_related("organization", "user")
        .order_by("id")
    )


def membership_for(user: "User | AnonymousUser", *, slug: str | None = None,
                   organization_id: int | None = None) -> Membership | None:
    """The membership a request acts through: the named organization, else the user's first one."""
    memberships = active_memberships(user)
    if slug:
        return memberships.filter(organization__slug=slug).first()
    if organization_id:
        chosen = memberships.filter(organization_id=organization_id).first()
        if chosen:
            return chosen
    return memberships.first()
