from datetime import datetime

from ninja import Query, Router, Schema
from pydantic import Field

from stocktrace.api.pagination import Page, keyset_page
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import Cursor, Filters, ObjectId, Timestamp
from stocktrace.audit.permissions import AUDIT_VIEW
from stocktrace.audit.selectors import audit_events_matching

router = Router(tags=["audit"])
ROUTES = [("/audit", router)]


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor_id: int | None
    actor_email: str
    token_prefix: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: dict | None
    after: dict | None
    ip: str | None
    device: str


class AuditPage(Page):
    items: list[AuditEventOut]


class AuditFilters(Filters):
    object_type: str | None = Field(None, max_length=64, description="e.g. tenancy.membership")
    object_id: str | None = Field(None, max_length=64)
    actor_id: ObjectId | None = None
    actor_email: str | None = Field(None, max_length=254)
    action: str | None = Field(None, max_length=64, description="exact, or a prefix ending in '.'")
    since: Timestamp | None = None
    until: Timestamp | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("", response=AuditPage)
@requires(AUDIT_VIEW)
def audit_index(request, filters: Query[AuditFilters]):
    """The audit log, newest first, searchable by object, user, action and time."""
    search = filters.dict(exclude={"cursor", "limit"})
    events = audit_events_matching(actor=request.auth, **search)
    return keyset_page(events, cursor=filters.cursor, limit=filters.limit)
