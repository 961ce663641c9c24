from django.db.models import Q, QuerySet

from stocktrace.accounts.models import ApiToken
from stocktrace.accounts.permissions import MEMBERS_VIEW, TOKENS_OWN
from stocktrace.core.errors import NotFound
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership
from stocktrace.tenancy.roles import Role


def members_of(*, actor: Actor, without_site: bool = False, role: str | None = None,
                 include_inactive: bool = True, search: str = "") -> QuerySet[Membership]:
    actor.require(MEMBERS_VIEW)
    members = Membership.objects.for_org(actor.organization).select_related("user")
    if search:
        members = members.filter(Q(user__email__icontains=search) | Q(user__full_name__icontains=search))
    if without_site:
        # Admins see every site without assignments; inactive people see nothing anyway.
        members = members.filter(site_assignments__isnull=True, is_active=True).exclude(role=Role.ADMIN)
    if role:
        members = members.filter(role=role)
    if not include_inactive:
        members = members.filter(is_active=True)
    return members


def member_get(*, actor: Actor, membership_id: int) -> Membership:
    member = members_of(actor=actor).filter(pk=membership_id).first()
    if member is None:
        raise NotFound("No such member")
    return member


def member_site_ids(membership: Membership) -> list[int]:
    return sorted(membership.site_assignments.values_list("site_id", flat=True))


def tokens_of(*, actor: Actor) -> QuerySet[ApiToken]:
    actor.require(TOKENS_OWN)
    return ApiToken.objects.filter(membership=actor.membership)


def token_get(*, actor: Actor, token_id: int) -> ApiToken:
    token = tokens_of(actor=actor).filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token")
    return token
