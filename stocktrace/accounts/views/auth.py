from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import HASH_SESSION_KEY, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from stocktrace.accounts.models import User
from stocktrace.accounts.services import password_change_audit
from stocktrace.core import ratelimit
from stocktrace.core.net import client_ip
from stocktrace.tenancy.resolution import SESSION_ORG_KEY, request_actor
from stocktrace.tenancy.selectors import active_memberships


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/form_page.html"
    success_url = reverse_lazy("web:home")
    extra_context = {"title": "Change password", "submit": "Change password"}

    def form_valid(self, form):
        response = super().form_valid(form)
        actor = request_actor(self.request)
        if actor is not None:
            password_change_audit(actor=actor)
        messages.success(self.request, "Your password was changed.")
        return response

    def form_invalid(self, form):
        # A right current password stored in an old hash is re-hashed while the form is checked (ADR 0012), even
        # when the new ones do not match: keep this session valid for the new hash instead of logging out.
        if self.request.session.get(HASH_SESSION_KEY) != form.user.get_session_auth_hash():
            update_session_auth_hash(self.request, form.user)
        return super().form_invalid(form)


class PasswordForgotForm(PasswordResetForm):
    def get_users(self, email):
        # Unlike Django's form, people who were invited but never chose a password get a link too.
        return User.objects.filter(email__iexact=email.strip(), is_active=True)


class PasswordForgotView(auth_views.PasswordResetView):
    """Self-service: a link to choose a new password, e-mailed to active accounts (the page says the same
    whether or not the address exists, so it cannot be used to discover accounts)."""

    template_name = "web/form_page.html"
    form_class = PasswordForgotForm
    email_template_name = "accounts/password_forgot_email.txt"
    subject_template_name = "accounts/password_forgot_subject.txt"
    success_url = reverse_lazy("web:password_forgot_sent")
    extra_context = {"title": "Forgot your password?", "submit": "E-mail me a link",
                     "intro": "Enter your e-mail; if it has an account, a link to choose a new password is sent."}

    def form_valid(self, form):
        # Links point at the configured address, never at whatever Host header the request carried.
        base = urlsplit(settings.STOCKTRACE_BASE_URL)
        self.extra_email_context = {"protocol": base.scheme, "domain": base.netloc}
        email = form.cleaned_data["email"].strip().lower()
        for key in (f"password-forgot:ip:{client_ip(self.request)}", f"password-forgot:email:{email}"):
            if not ratelimit.hit(key, limit=5, window_seconds=3600).allowed:
                messages.error(self.request, "Too many requests for a password link; try again in an hour.")
                return redirect("web:login")
        return super().form_valid(form)


def password_forgot_sent(request):
    messages.success(request, "If that address has an account, a link is on its way. Check your e-mail.")
    return redirect("web:login")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Where an invited person chooses a password (the link in the invitation)."""

    template_name = "web/form_page.html"
    success_url = reverse_lazy("web:login")
    extra_context = {"title": "Choose your password", "submit": "Set password"}

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Password set. Log in with your e-mail and the new password.")
        return response

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        # The first visit redirects to a URL without the token (validlink is only known when rendering).
        if response.status_code == 200 and not self.validlink:
            messages.error(request, "This link is invalid or was used already. Ask an admin for a new one.")
            return redirect("web:login")
        return response


class OrganizationSwitchForm(forms.Form):
    organization = forms.IntegerField(min_value=1)


@require_POST
def organization_switch(request):
    if not request.user.is_authenticated:
        return redirect("web:login")
    form = OrganizationSwitchForm(request.POST)
    if form.is_valid():
        chosen = active_memberships(request.user).filter(organization_id=form.cleaned_data["organization"]).first()
        if chosen:
            request.session[SESSION_ORG_KEY] = chosen.organization_id
    return redirect("web:home")
