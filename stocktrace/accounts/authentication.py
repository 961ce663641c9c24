from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from stocktrace.accounts.services import token_authenticate
from stocktrace.core.errors import NotFound
from stocktrace.core.net import client_ip
from stocktrace.tenancy.resolution import actor_for_membership, request_actor


class TokenAuth(HttpBearer):
    """`Authorization: Bearer st_…`: the token's membership fixes the organization and role."""

    def authenticate(self, request, token):
        api_token = token_authenticate(token, ip=client_ip(request))
        if api_token is None:
            return None
        actor = actor_for_membership(request, api_token.membership, token=api_token)
        request._actor = actor
        return actor


class SessionAuth(NinjaSessionAuth):
    """A browser session (with CSRF on writes), acting in the session's organization."""

    def authenticate(self, request, key):
        if super().authenticate(request, key) is None:
            return None
        actor = request_actor(request)
        if actor is None and request.headers.get("X-Organization"):
            raise NotFound("You are not a member of the organization named in X-Organization")
        return actor


api_auth = [TokenAuth(), SessionAuth()]
