from datetime import datetime

from ninja import Query, Router, Schema, Status
from pydantic import Field

from stocktrace.accounts import selectors, services
from stocktrace.accounts.permissions import MEMBERS_MANAGE, MEMBERS_VIEW
from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import Cursor, Email, Filters, Flag, Input, ObjectId, ObjectRef
from stocktrace.tenancy.roles import Role

router = Router(tags=["members"])


class MemberOut(Schema):
    id: int
    user_id: int
    email: str = Field(alias="user.email")
    full_name: str = Field(alias="user.full_name")
    role: Role
    is_active: bool
    site_ids: list[int]
    last_login: datetime | None = Field(alias="user.last_login")
    created_at: datetime

    @staticmethod
    def resolve_site_ids(obj):
        return sorted(a.site_id for a in obj.site_assignments.all())


class MemberPage(Page):
    items: list[MemberOut]


class MemberFilters(Filters):
    without_site: bool = False
    role: Role | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class InviteIn(Input):
    email: Email
    full_name: str = Field("", max_length=150)
    role: Role
    site_ids: list[ObjectRef] = Field(default_factory=list, max_length=500)


class InviteOut(MemberOut):
    password_set_path: str | None


class MemberPatch(Input):
    role: Role | None = None
    is_active: Flag | None = None


class SitesIn(Input):
    site_ids: list[ObjectRef] = Field(max_length=500)


class SitesOut(Schema):
    site_ids: list[int]


@router.get("", response=MemberPage)
@requires(MEMBERS_VIEW)
def members_index(request, filters: Query[MemberFilters]):
    """Members with their roles and sites. `without_site=true` lists the people who see no site at all."""
    members = selectors.members_of(
        actor=request.auth, without_site=filters.without_site, role=filters.role
    ).prefetch_related("site_assignments")
    return keyset_page(members, cursor=filters.cursor, limit=filters.limit, newest_first=False)


@router.post("", response={201: InviteOut})
@requires(MEMBERS_MANAGE)
def members_invite(request, payload: InviteIn):
    """Add a person. A new user gets an e-mail with a link to choose a password; the link is also returned
    once, for handing over where no mail is set up."""
    membership, link = services.member_invite(actor=request.auth, **payload.dict())
    membership = selectors.member_get(actor=request.auth, membership_id=membership.pk)
    membership.__dict__["password_set_path"] = link  # shown in this response only
    return Status(201, membership)


@router.get("/{member_id}", response=MemberOut)
@requires(MEMBERS_VIEW)
def members_show(request, member_id: ObjectId):
    return selectors.member_get(actor=request.auth, membership_id=member_id)


@router.patch("/{member_id}", response=MemberOut)
@requires(MEMBERS_MANAGE)
def members_update(request, member_id: ObjectId, payload: MemberPatch):
    membership = selectors.member_get(actor=request.auth, membership_id=member_id)
    services.member_update(actor=request.auth, membership=membership, **payload.dict(exclude_unset=True))
    return selectors.member_get(actor=request.auth, membership_id=member_id)


@router.get("/{member_id}/sites", response=SitesOut)
@requires(MEMBERS_VIEW)
def members_sites(request, member_id: ObjectId):
    membership = selectors.member_get(actor=request.auth, membership_id=member_id)
    return {"site_ids": selectors.member_site_ids(membership)}


@router.put("/{member_id}/sites", response=SitesOut)
@requires(MEMBERS_MANAGE)
def members_sites_set(request, member_id: ObjectId, payload: SitesIn):
    membership = selectors.member_get(actor=request.auth, membership_id=member_id)
    return {"site_ids": services.member_sites_set(actor=request.auth, membership=membership,
                                                  site_ids=payload.site_ids)}


class PasswordLinkOut(Schema):
    password_set_path: str


@router.post("/{member_id}/password-link", response=PasswordLinkOut)
@requires(MEMBERS_MANAGE)
def members_password_link(request, member_id: ObjectId):
    """E-mail the member a new link to choose a password, and return it once for handing over in person."""
    membership = selectors.member_get(actor=request.auth, membership_id=member_id)
    return {"password_set_path": services.member_password_link(actor=request.auth, membership=membership)}
