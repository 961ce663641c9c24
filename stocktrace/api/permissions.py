import functools

from stocktrace.tenancy.roles import Permission

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def requires(perm: Permission | str):
    """Declare (and enforce) what an endpoint needs. The permission-matrix tests read the declaration,
    so every endpoint must carry one: a Permission, AUTHENTICATED, or PUBLIC."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if isinstance(perm, Permission):
                request.auth.require(perm)
            return view(request, *args, **kwargs)

        wrapper.__dict__["required_permission"] = perm  # read by the permission-matrix tests
        return wrapper

    return decorate
