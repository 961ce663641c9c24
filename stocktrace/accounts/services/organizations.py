from django.db import transaction
from django.utils.text import slugify

from stocktrace.accounts.models import User
from stocktrace.accounts.permissions import ORG_MANAGE
from stocktrace.audit.services import audit_record, audited_update, snapshot
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.roles import Role

ORGANIZATION_AUDITED = ["name", "slug", "is_active", "allow_negative_stock"]


@transaction.atomic
def organization_create(*, name: str, admin: User, slug: str = "", device: str = "cli") -> Organization:
    """Create a tenant with its first admin. Reserved for operators (CLI), not for API users."""
    name = name.strip()
    if not name:
        raise InvalidInput("The organization needs a name", field="name")
    slug = slugify(slug or name)[:60]
    if not slug:
        raise InvalidInput("The organization needs a slug of letters or digits", field="slug")
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict(f"An organization with the slug {slug!r} exists already", field="slug")
    organization = Organization.objects.create(name=name, slug=slug)
    membership = Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
    actor = Actor.system(organization, device=device)
    audit_record(actor=actor, action="organization.create", obj=organization,
                 after=snapshot(organization, ORGANIZATION_AUDITED))
    audit_record(actor=actor, action="membership.create", obj=membership,
                 after={"user": admin.email, "role": membership.role})
    return organization


@transaction.atomic
def organization_update(
    *, actor: Actor, name: str | None = None, allow_negative_stock: bool | None = None
) -> Organization:
    actor.require(ORG_MANAGE)
    organization = Organization.objects.select_for_update().get(pk=actor.organization.pk)
    with audited_update(actor=actor, obj=organization, fields=ORGANIZATION_AUDITED, action="organization.update"):
        if name is not None:
            if not name.strip():
                raise InvalidInput("The organization needs a name", field="name")
            organization.name = name.strip()
        if allow_negative_stock is not None:
            organization.allow_negative_stock = allow_negative_stock
    return organization
