from stocktrace.tenancy.resolution import request_actor
from stocktrace.tenancy.roles import all_permissions
from stocktrace.tenancy.selectors import active_memberships
from stocktrace.web.navigation import navigation_for


def navigation(request):
    """The acting organization, the user's other organizations and what the role may open."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = request_actor(request)
    if actor is None:
        return {"actor": None}
    return {
        "actor": actor,
        "memberships": list(active_memberships(request.user)),
        "can": {perm.key: actor.can(perm) for perm in all_permissions()},
        "nav": navigation_for(actor, getattr(request.resolver_match, "url_name", None)),
    }
