from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from stocktrace.accounts import selectors, services
from stocktrace.accounts.permissions import TOKENS_OWN
from stocktrace.api.permissions import requires
from stocktrace.api.schemas import Input, ObjectId, Timestamp, name_field

router = Router(tags=["tokens"])


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")


class TokenIn(Input):
    name: str = name_field(100)
    expires_at: Timestamp | None = Field(None, description="in the future; null for a token that does not expire")


@router.get("", response=list[TokenOut])
@requires(TOKENS_OWN)
def tokens_index(request):
    """Your API tokens in this organization (never their secrets)."""
    return list(selectors.tokens_of(actor=request.auth).order_by("-pk")[:200])


@router.post("", response={201: TokenCreated})
@requires(TOKENS_OWN)
def tokens_create(request, payload: TokenIn):
    token, plaintext = services.token_create(actor=request.auth, name=payload.name,
                                             expires_at=payload.expires_at)
    token.__dict__["token"] = plaintext  # shown in this response only
    return Status(201, token)


@router.delete("/{token_id}", response=TokenOut)
@requires(TOKENS_OWN)
def tokens_revoke(request, token_id: ObjectId):
    token = selectors.token_get(actor=request.auth, token_id=token_id)
    return services.token_revoke(actor=request.auth, token=token)
