from django.shortcuts import render
from django.template.loader import render_to_string

from stocktrace.tenancy.roles import Role
from stocktrace.web.decorators import page_requires
from stocktrace.web.home import panels_for, shortcuts_for

# One line under the organization's name: what the role is for, and where to start today.
ROLE_HINTS = {
    Role.ADMIN: "You run the organization: people and their sites, imports, integrations and the jobs behind them.",
    Role.SUPERVISOR: "You keep your sites' stock right: post and correct movements and act on the alerts below.",
    Role.DISPATCHER: "You move stock at your sites: receive what comes in, issue what goes out, transfer between bins.",
    Role.COUNTER: "You count stock at your sites: tap Count, scan an area's label, then scan what lies there.",
    Role.BILLER: "You bill what leaves your sites. Until bills open, scan any item or bin below: see what lies where.",
    Role.VIEWER: "You follow your sites' stock: scan any item or bin below, or open Stock and Alerts.",
}


@page_requires()
def home(request):
    actor = request.actor
    return render(request, "accounts/home.html", {
        "role_hint": ROLE_HINTS.get(actor.role, ""),
        "without_a_site": actor.site_ids is not None and not actor.site_ids,
        "shortcuts": shortcuts_for(actor),
        # Each panel sees only what its app built for it (no request: it adds no queries of its own).
        "panels": [render_to_string(template, context) for template, context in panels_for(actor)],
    })
