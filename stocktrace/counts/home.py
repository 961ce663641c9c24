"""What the home page offers from counts: scanning for those who count, and the counts in progress."""

from typing import Any

from stocktrace.counts import selectors
from stocktrace.counts.permissions import COUNTS_MANAGE, COUNTS_SCAN, COUNTS_VIEW
from stocktrace.tenancy.actor import Actor
from stocktrace.web.home import HomePanel, Shortcut

SHORTCUTS = [
    Shortcut("Count", "web:count_scan", COUNTS_SCAN, 5, "Scan an area's label, then what lies there"),
    Shortcut("Plan a count", "web:counts", COUNTS_MANAGE, 30, "A stocktake, a cycle count or a spot check"),
]


def _running(actor: Actor) -> dict[str, Any] | None:
    running = list(selectors.sessions_visible(actor=actor, status="in_progress").order_by("site__code")[:10])
    if not running:
        return None
    return {"counts": [(session, selectors.session_progress(session)) for session in running]}


PANELS = [HomePanel("counts/home_counts.html", _running, COUNTS_VIEW, 15)]
