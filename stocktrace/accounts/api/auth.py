from django.contrib.auth import authenticate, login, logout
from ninja import Router, Schema, Status
from pydantic import Field

from stocktrace.api.permissions import AUTHENTICATED, PUBLIC, requires
from stocktrace.api.schemas import Input
from stocktrace.core.errors import Unauthenticated

router = Router(tags=["auth"])


class LoginIn(Input):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class LoginOut(Schema):
    email: str


@router.post("/login", auth=None, response=LoginOut)
@requires(PUBLIC)
def login_session(request, payload: LoginIn):
    """Start a browser session (for the web app). Devices and integrations use API tokens instead."""
    user = authenticate(request, username=payload.email.strip().lower(), password=payload.password)
    if user is None:
        # When django-axes locked the e-mail out, its middleware turns this into a 429 with Retry-After.
        raise Unauthenticated("Wrong e-mail or password, or the account is inactive")
    login(request, user)
    return {"email": user.email}


@router.post("/logout", response={204: None})
@requires(AUTHENTICATED)
def logout_session(request):
    logout(request)
    return Status(204, None)
