import functools

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from stocktrace.tenancy.resolution import request_actor
from stocktrace.tenancy.roles import Permission


def page_requires(perm: Permission | None = None):
    """Pages: log in first, act through a membership, and hold `perm` (403 page otherwise).
    The view receives the actor as `request.actor`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor = request_actor(request)
            if actor is None:
                return render(request, "web/no_organization.html", status=403)
            if perm is not None and not actor.can(perm):
                return render(request, "web/error.html",
                              {"title": "Not allowed", "detail": f"Your role ({actor.role}) cannot open this page."},
                              status=403)
            request.actor = actor
            return view(request, *args, **kwargs)

        wrapper.__dict__["required_permission"] = perm  # read by the permission-matrix tests
        return wrapper

    return decorate
