from typing import TYPE_CHECKING

from django.db.models import QuerySet

from stocktrace.core.errors import NotFound
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Site
from stocktrace.tenancy.permissions import SITES_VIEW

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


def sites_visible(*, actor: Actor, include_archived: bool = False) -> QuerySet[Site]:
    """Admins see every site of the organization; everyone else only the sites they are assigned to."""
    actor.require(SITES_VIEW)
    sites = Site.objects.for_org(actor.organization)
    if actor.site_ids is not None:
        sites = sites.filter(pk__in=actor.site_ids)
    if not include_archived:
        sites = sites.filter(archived_at__isnull=True)
    return sites


def site_get(*, actor: Actor, site_id: int) -> Site:
    site = sites_visible(actor=actor, include_archived=True).filter(pk=site_id).first()
    if site is None:
        raise NotFound("No such site")
    return site
