from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate, login, logout
from ninja import Router, Schema, Status
from pydantic import Field

from stocktrace.api.permissions import AUTHENTICATED, PUBLIC, requires
from stocktrace.api.schemas import Input
from stocktrace.core.errors import Throttled, Unauthenticated

router = Router()


class LoginIn(Input):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class LoginOut(Schema):
    email: str


@router.post("/login", auth=None, response=LoginOut)
@requires(PUBLIC)
def login_session(request, payload: LoginIn):
    """Start a browser session (for the web app). Devices and integrations use API tokens instead."""
    try:
        user = authenticate(request, username=payload.email.strip().lower(), password=payload.password)
    except AxesBackendPermissionDenied as exc:
        raise Throttled("Too many failed logins; try again later", retry_after=900) from exc
    if getattr(request, "axes_locked_out", False):
        raise Throttled("Too many failed logins; try again later", retry_after=900)
    if user is None:
        raise Unauthenticated("Wrong e-mail or password, or the account is inactive")
    login(request, user)
    return {"email": user.email}


@router.post("/logout", response={204: None})
@requires(AUTHENTICATED)
def logout_session(request):
    logout(request)
    return Status(204, None)
