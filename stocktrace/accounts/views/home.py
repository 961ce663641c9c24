from django.shortcuts import render

from stocktrace.accounts.permissions import MEMBERS_VIEW
from stocktrace.accounts.selectors import members_of
from stocktrace.web.decorators import page_requires


@page_requires()
def home(request):
    context = {}
    if request.actor.can(MEMBERS_VIEW):
        active = members_of(actor=request.actor, include_inactive=False)
        context["member_count"] = active.count()
        context["without_site"] = members_of(actor=request.actor, without_site=True).count()
    return render(request, "accounts/home.html", context)
