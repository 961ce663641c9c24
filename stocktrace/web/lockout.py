from axes.helpers import get_cool_off
from django.shortcuts import render

from stocktrace.core.problems import problem


def lockout_response(request, original_response=None, credentials=None):
    """After repeated failed logins: a problem document for the API, a page for people, both 429."""
    cool_off = get_cool_off(request)
    retry_after = int(cool_off.total_seconds()) if cool_off else 900
    if request.path.startswith("/api/"):
        return problem(429, "locked_out", "Too many failed logins",
                       "This e-mail is locked for this address after repeated failures; try again later.",
                       retry_after=retry_after)
    response = render(request, "web/locked_out.html", {"minutes": retry_after // 60}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
