from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from stocktrace.audit.services import audit_record, audited_update, snapshot
from stocktrace.core.codes import clean_code
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.events.catalogue import event_publish
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Site
from stocktrace.tenancy.permissions import SITES_MANAGE

SITE_AUDITED = ["code", "name", "address", "archived_at"]

# What may refuse to archive a site, added by the apps that keep things at sites (inventory: stock still there).
# Each raises a DomainError to refuse; they run under the site's row lock.
SiteArchiveCheck = Callable[[Site], None]
_archive_checks: list[SiteArchiveCheck] = []


def site_archive_check_add(check: SiteArchiveCheck) -> None:
    if check not in _archive_checks:
        _archive_checks.append(check)


def _site_payload(site: Site) -> dict[str, Any]:
    return {"site": {"id": site.pk, **snapshot(site, SITE_AUDITED)}}


@transaction.atomic
def site_create(*, actor: Actor, code: str, name: str, address: str = "") -> Site:
    actor.require(SITES_MANAGE)
    max_length = Site._meta.get_field("code").max_length
    assert max_length is not None  # a CharField's
    code, name = clean_code(code, "code", max_length=max_length), name.strip()
    if not name:
        raise InvalidInput("A site needs a name", field="name")
    if Site.objects.for_org(actor.organization).filter(code=code).exists():
        raise Conflict(f"A site with the code {code!r} exists already", field="code")
    site = Site.objects.create(organization=actor.organization, code=code, name=name, address=address)
    audit_record(actor=actor, action="site.create", obj=site, after=snapshot(site, SITE_AUDITED))
    event_publish(organization=actor.organization, name="site.created", payload=_site_payload(site))
    return site


@transaction.atomic
def site_update(*, actor: Actor, site: Site, name: str | None = None, address: str | None = None) -> Site:
    actor.require(SITES_MANAGE)
    site = Site.objects.select_for_update().get(pk=site.pk)
    with audited_update(actor=actor, obj=site, fields=SITE_AUDITED, action="site.update") as change:
        if name is not None:
            if not name.strip():
                raise InvalidInput("A site needs a name", field="name")
            site.name = name.strip()
        if address is not None:
            site.address = address
    if change.changed:
        event_publish(organization=actor.organization, name="site.updated", payload=_site_payload(site))
    return site


@transaction.atomic
def site_archive(*, actor: Actor, site: Site) -> Site:
    actor.require(SITES_MANAGE)
    site = Site.objects.select_for_update().get(pk=site.pk)
    if site.archived_at is None:
        for check in _archive_checks:
            check(site)
        before = snapshot(site, SITE_AUDITED)
        site.archived_at = timezone.now()
        site.save(update_fields=["archived_at"])
        audit_record(actor=actor, action="site.archive", obj=site, before=before,
                     after=snapshot(site, SITE_AUDITED))
        event_publish(organization=actor.organization, name="site.archived", payload=_site_payload(site))
    return site
