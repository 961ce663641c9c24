"""Organization and members pages. Views parse, call one service and render."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from stocktrace.accounts import selectors as account_selectors
from stocktrace.accounts import services as account_services
from stocktrace.accounts.forms import InviteForm, MemberForm, OrganizationForm
from stocktrace.accounts.permissions import MEMBERS_MANAGE, MEMBERS_VIEW, ORG_MANAGE
from stocktrace.core.errors import DomainError
from stocktrace.tenancy import selectors as site_selectors
from stocktrace.web.actions import announce
from stocktrace.web.decorators import page_requires
from stocktrace.web.forms import show_domain_error

MEMBERS_SHOWN = 100  # people on one page of the members list


@page_requires(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def organization(request):
    org = request.actor.organization
    form = OrganizationForm(request.POST or None,
                            initial={"name": org.name, "allow_negative_stock": org.allow_negative_stock})
    if request.method == "POST" and form.is_valid():
        try:
            account_services.organization_update(actor=request.actor, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, "Organization saved.")
            return redirect("web:organization")
    return render(request, "web/form_page.html", {"form": form, "title": "Organization"})


@page_requires(MEMBERS_VIEW)
def members(request):
    """The members by e-mail, MEMBERS_SHOWN a page (`after` the last e-mail of the page before), narrowed by
    a search on e-mail or name, or to the people without a site."""
    without_site = request.GET.get("without_site") == "1"
    search = request.GET.get("q", "").strip()
    after = request.GET.get("after", "")
    people = (
        account_selectors.members_of(actor=request.actor, without_site=without_site, search=search)
        .prefetch_related("site_assignments__site").order_by("user__email")
    )
    if after:
        people = people.filter(user__email__gt=after)
    page = list(people[:MEMBERS_SHOWN + 1])
    invite = None
    if request.actor.can(MEMBERS_MANAGE):
        invite = InviteForm()
        invite.set_site_choices(site_selectors.sites_visible(actor=request.actor))
    more = len(page) > MEMBERS_SHOWN
    return render(request, "accounts/members.html", {
        "people": page[:MEMBERS_SHOWN], "next_after": page[MEMBERS_SHOWN - 1].user.email if more else None,
        "after": after, "search": search, "without_site": without_site, "invite": invite})


@page_requires(MEMBERS_MANAGE)
@require_http_methods(["POST"])
def member_invite(request):
    form = InviteForm(request.POST)
    form.set_site_choices(site_selectors.sites_visible(actor=request.actor))
    if form.is_valid():
        data = form.cleaned_data
        try:
            membership, link = account_services.member_invite(
                actor=request.actor, email=data["email"], full_name=data["full_name"], role=data["role"],
                site_ids=[s.pk for s in data["sites"]],
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            note = f"{membership.user.email} was added as {membership.role}."
            if link:
                note += f" They were e-mailed a link to choose a password: {request.build_absolute_uri(link)}"
            messages.success(request, note)
            return redirect("web:members")
    people = account_selectors.members_of(actor=request.actor).select_related("user").order_by("user__email")
    return render(request, "accounts/members.html", {"people": people, "invite": form}, status=422)


@page_requires(MEMBERS_VIEW)
@require_http_methods(["GET", "POST"])
def member_detail(request, member_id: int):
    membership = account_selectors.member_get(actor=request.actor, membership_id=member_id)
    can_manage = request.actor.can(MEMBERS_MANAGE)
    form = MemberForm(
        request.POST if request.method == "POST" else None,
        initial={"role": membership.role, "is_active": membership.is_active,
                 "sites": account_selectors.member_site_ids(membership)},
    )
    form.set_site_choices(site_selectors.sites_visible(actor=request.actor, include_archived=True))
    if request.method == "POST":
        if not can_manage:
            return render(request, "web/error.html", {"title": "Not allowed",
                          "detail": "Your role cannot change members."}, status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                account_services.member_change(actor=request.actor, membership=membership, role=data["role"],
                                               is_active=data["is_active"], site_ids=[s.pk for s in data["sites"]])
            except DomainError as error:
                show_domain_error(form, error)
            else:
                messages.success(request, f"{membership.user.email} saved.")
                return redirect("web:members")
    return render(request, "accounts/member_detail.html",
                  {"membership": membership, "form": form, "can_manage": can_manage})


@page_requires(MEMBERS_MANAGE)
@require_http_methods(["POST"])
def member_password_link(request, member_id: int):
    membership = account_selectors.member_get(actor=request.actor, membership_id=member_id)
    announce(request, lambda: account_services.member_password_link(actor=request.actor, membership=membership),
             lambda link: f"{membership.user.email} was e-mailed a link to choose a password: "
                          f"{request.build_absolute_uri(link)}")
    return redirect("web:member_detail", member_id=membership.pk)
