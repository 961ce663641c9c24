"""The sites page. Views parse, call one service and render."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from stocktrace.accounts import services as site_services
from stocktrace.accounts.forms import SiteForm
from stocktrace.core.errors import DomainError
from stocktrace.tenancy import selectors as site_selectors
from stocktrace.tenancy.permissions import SITES_MANAGE, SITES_VIEW
from stocktrace.web.decorators import page_requires
from stocktrace.web.forms import show_domain_error


@page_requires(SITES_VIEW)
@require_http_methods(["GET", "POST"])
def sites(request):
    form = SiteForm(request.POST or None) if request.actor.can(SITES_MANAGE) else None
    if request.method == "POST":
        if form is None:
            return render(request, "web/error.html", {"title": "Not allowed",
                          "detail": "Your role cannot create sites."}, status=403)
        if form.is_valid():
            try:
                site = site_services.site_create(actor=request.actor, **form.cleaned_data)
            except DomainError as error:
                show_domain_error(form, error)
            else:
                messages.success(request, f"Site {site.code} created.")
                return redirect("web:sites")
    visible = site_selectors.sites_visible(actor=request.actor).order_by("code")
    return render(request, "accounts/sites.html", {"sites": visible, "form": form})
