import functools

from stocktrace.accounts.roles import Perm

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def requires(perm: Perm | str):
    """Declare (and enforce) what an endpoint needs. The permission-matrix tests read the declaration,
    so every endpoint must carry one: a Perm, AUTHENTICATED, or PUBLIC."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if isinstance(perm, Perm):
                request.auth.require(perm)
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm
        return wrapper

    return decorate
