from django.shortcuts import render

from stocktrace.audit.forms import AuditFilterForm
from stocktrace.audit.permissions import AUDIT_VIEW
from stocktrace.audit.selectors import audit_events_matching
from stocktrace.core.errors import InvalidInput
from stocktrace.core.pagination import keyset_page
from stocktrace.web.decorators import page_requires


@page_requires(AUDIT_VIEW)
def audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events_matching(
        actor=request.actor,
        object_type=filters.get("object_type"),
        object_id=filters.get("object_id"),
        actor_email=filters.get("actor_email"),
        action=filters.get("action"),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    try:
        page = keyset_page(events, cursor=request.GET.get("cursor"), limit=50)
    except InvalidInput:
        page = keyset_page(events, cursor=None, limit=50)
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "audit/audit.html", {"form": form, "page": page, "query": query.urlencode()})
