"""Which organization a request acts in, and as whom."""

from stocktrace.core.net import client_ip
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.selectors import membership_for

SESSION_ORG_KEY = "organization_id"


def device_of(request) -> str:
    return (request.headers.get("X-Device-ID") or request.headers.get("User-Agent") or "")[:200]


def actor_for_membership(request, membership, token=None) -> Actor:
    return Actor(
        organization=membership.organization,
        membership=membership,
        ip=client_ip(request),
        device=device_of(request),
        token=token,
    )


def request_actor(request) -> Actor | None:
    """The actor of a logged-in session in the organization chosen for it (X-Organization header,
    else the one picked in the session, else the user's first); None without one. Cached per request."""
    if hasattr(request, "_actor"):
        return request._actor
    actor = None
    if request.user.is_authenticated:
        membership = membership_for(
            request.user,
            slug=request.headers.get("X-Organization"),
            organization_id=request.session.get(SESSION_ORG_KEY),
        )
        if membership is not None:
            actor = actor_for_membership(request, membership)
    request._actor = actor
    return actor
