from stocktrace.accounts.roles import Perm
from stocktrace.core.errors import NotFound
from stocktrace.inventory.models import Site
from stocktrace.tenancy.actor import Actor


def sites_visible(*, actor: Actor, include_archived: bool = False):
    """Admins see every site of the organization; everyone else only the sites they are assigned to."""
    actor.require(Perm.SITES_VIEW)
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
