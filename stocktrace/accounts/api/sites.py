from datetime import datetime

from ninja import Query, Router, Schema, Status
from pydantic import Field

from stocktrace.accounts import services
from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import Cursor, Filters, Input, ObjectId, code_field, name_field
from stocktrace.tenancy import selectors
from stocktrace.tenancy.permissions import SITES_MANAGE, SITES_VIEW

router = Router(tags=["sites"])


class SiteOut(Schema):
    id: int
    code: str
    name: str
    address: str
    archived_at: datetime | None
    created_at: datetime


class SitePage(Page):
    items: list[SiteOut]


class SiteFilters(Filters):
    include_archived: bool = False
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class SiteIn(Input):
    code: str = code_field(32)
    name: str = name_field(150)
    address: str = Field("", max_length=2000)


class SitePatch(Input):
    name: str | None = name_field(150, None)
    address: str | None = Field(None, max_length=2000)


@router.get("", response=SitePage)
@requires(SITES_VIEW)
def sites_index(request, filters: Query[SiteFilters]):
    """Admins see every site; everyone else the sites they are assigned to."""
    sites = selectors.sites_visible(actor=request.auth, include_archived=filters.include_archived)
    return keyset_page(sites, cursor=filters.cursor, limit=filters.limit, newest_first=False)


@router.post("", response={201: SiteOut})
@requires(SITES_MANAGE)
def sites_create(request, payload: SiteIn):
    return Status(201, services.site_create(actor=request.auth, **payload.dict()))


@router.get("/{site_id}", response=SiteOut)
@requires(SITES_VIEW)
def sites_show(request, site_id: ObjectId):
    return selectors.site_get(actor=request.auth, site_id=site_id)


@router.patch("/{site_id}", response=SiteOut)
@requires(SITES_MANAGE)
def sites_update(request, site_id: ObjectId, payload: SitePatch):
    site = selectors.site_get(actor=request.auth, site_id=site_id)
    return services.site_update(actor=request.auth, site=site, **payload.dict(exclude_unset=True))


@router.post("/{site_id}/archive", response=SiteOut)
@requires(SITES_MANAGE)
def sites_archive(request, site_id: ObjectId):
    """Archive a site: it leaves the lists but keeps its history."""
    site = selectors.site_get(actor=request.auth, site_id=site_id)
    return services.site_archive(actor=request.auth, site=site)
