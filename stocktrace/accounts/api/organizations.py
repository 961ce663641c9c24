from ninja import Router, Schema

from stocktrace.accounts import services
from stocktrace.accounts.permissions import ORG_MANAGE, ORG_VIEW
from stocktrace.api.permissions import AUTHENTICATED, requires
from stocktrace.api.schemas import Flag, Input, name_field
from stocktrace.tenancy.roles import Role, all_permissions
from stocktrace.tenancy.selectors import active_memberships

router = Router(tags=["organizations"])


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    allow_negative_stock: bool


class OrganizationPatch(Input):
    name: str | None = name_field(150, None)
    allow_negative_stock: Flag | None = None


class MembershipBrief(Schema):
    organization: OrganizationOut
    role: Role


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    organization: OrganizationOut
    role: Role
    permissions: list[str]
    site_ids: list[int] | None
    memberships: list[MembershipBrief]


@router.get("/me", response=MeOut, tags=["me"])
@requires(AUTHENTICATED)
def me(request):
    """Who you are, where you act, and what your role allows there."""
    actor = request.auth
    user = actor.user
    memberships = [actor.membership] if actor.token else list(active_memberships(user))
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "organization": actor.organization,
        "role": actor.role,
        "permissions": sorted(p.value for p in all_permissions() if actor.can(p)),
        "site_ids": sorted(actor.site_ids) if actor.site_ids is not None else None,
        "memberships": memberships,
    }


@router.get("/organizations", response=list[MembershipBrief])
@requires(AUTHENTICATED)
def organizations_mine(request):
    """The organizations you belong to; choose one per request with the `X-Organization: <slug>` header."""
    if request.auth.token:
        return [request.auth.membership]
    return list(active_memberships(request.auth.user))


@router.get("/organization", response=OrganizationOut)
@requires(ORG_VIEW)
def organization_current(request):
    return request.auth.organization


@router.patch("/organization", response=OrganizationOut)
@requires(ORG_MANAGE)
def organization_patch(request, payload: OrganizationPatch):
    return services.organization_update(actor=request.auth, **payload.dict(exclude_unset=True))
