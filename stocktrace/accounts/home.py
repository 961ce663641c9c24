"""What the home page offers from accounts: inviting people, and the people an admin must still give a site."""

from typing import Any

from stocktrace.accounts.permissions import MEMBERS_MANAGE
from stocktrace.accounts.selectors import members_of
from stocktrace.tenancy.actor import Actor
from stocktrace.web.home import HomePanel, Shortcut

WITHOUT_SITE_SHOWN = 5

SHORTCUTS = [
    Shortcut("Invite someone", "web:members", MEMBERS_MANAGE, 80, "A login, a role and the sites they work at"),
]


def _people(actor: Actor) -> dict[str, Any]:
    waiting = members_of(actor=actor, without_site=True)
    without_site = list(waiting.order_by("user__email")[:WITHOUT_SITE_SHOWN + 1])
    return {"member_count": members_of(actor=actor, include_inactive=False).count(),
            "without_site": without_site[:WITHOUT_SITE_SHOWN],
            "without_site_count": waiting.count() if len(without_site) > WITHOUT_SITE_SHOWN else len(without_site)}


PANELS = [HomePanel("accounts/home_people.html", _people, MEMBERS_MANAGE, 80)]
