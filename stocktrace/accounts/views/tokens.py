from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from stocktrace.accounts import selectors, services
from stocktrace.accounts.forms import TokenForm
from stocktrace.accounts.permissions import TOKENS_OWN
from stocktrace.core.errors import DomainError
from stocktrace.web.decorators import page_requires
from stocktrace.web.forms import show_domain_error

NEW_TOKEN_KEY = "new_api_token"


@page_requires(TOKENS_OWN)
@require_http_methods(["GET", "POST"])
def tokens(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, plaintext = services.token_create(actor=request.actor, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            # Post/redirect/get, so a reload cannot create a second token; the secret survives one page view.
            request.session[NEW_TOKEN_KEY] = plaintext
            return redirect("web:tokens")
    created = request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    mine = selectors.tokens_of(actor=request.actor).order_by("-pk")
    return render(request, "accounts/tokens.html", {"tokens": mine, "form": form, "created": created})


@page_requires(TOKENS_OWN)
@require_POST
def token_revoke(request, token_id: int):
    token = selectors.token_get(actor=request.actor, token_id=token_id)
    services.token_revoke(actor=request.actor, token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("web:tokens")
