from django.contrib.auth.views import LogoutView
from django.urls import path

from stocktrace.accounts.permissions import MEMBERS_VIEW, ORG_MANAGE
from stocktrace.accounts.views import auth, home, members, sites, tokens
from stocktrace.tenancy.permissions import SITES_VIEW
from stocktrace.web.navigation import NavLink

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/set/<uidb64>/<token>/", auth.PasswordSetView.as_view(), name="password_set"),
    path("password/forgot/", auth.PasswordForgotView.as_view(), name="password_forgot"),
    path("password/forgot/sent/", auth.password_forgot_sent, name="password_forgot_sent"),
    path("organization/switch/", auth.organization_switch, name="organization_switch"),
    path("organization/", members.organization, name="organization"),
    path("members/", members.members, name="members"),
    path("members/invite/", members.member_invite, name="member_invite"),
    path("members/<int:member_id>/", members.member_detail, name="member_detail"),
    path("members/<int:member_id>/password-link/", members.member_password_link, name="member_password_link"),
    path("sites/", sites.sites, name="sites"),
    path("tokens/", tokens.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
]

NAVIGATION = [
    NavLink("Home", "web:home", None, 10),
    NavLink("Sites", "web:sites", SITES_VIEW, 60),
    NavLink("Members", "web:members", MEMBERS_VIEW, 70),
    NavLink("Organization", "web:organization", ORG_MANAGE, 120),
    NavLink("API tokens", "web:tokens", None, 130),
]
