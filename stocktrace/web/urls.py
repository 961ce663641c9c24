from django.contrib.auth.views import LogoutView
from django.urls import path

from stocktrace.web.views import admin, audit, auth, home, jobs, tokens, webhooks

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/set/<uidb64>/<token>/", auth.PasswordSetView.as_view(), name="password_set"),
    path("organization/switch/", auth.organization_switch, name="organization_switch"),
    path("organization/", admin.organization, name="organization"),
    path("members/", admin.members, name="members"),
    path("members/invite/", admin.member_invite, name="member_invite"),
    path("members/<int:member_id>/", admin.member_detail, name="member_detail"),
    path("members/<int:member_id>/password-link/", admin.member_password_link, name="member_password_link"),
    path("password/forgot/", auth.PasswordForgotView.as_view(), name="password_forgot"),
    path("password/forgot/sent/", auth.password_forgot_sent, name="password_forgot_sent"),
    path("sites/", admin.sites, name="sites"),
    path("sites/resync/", admin.sites_resync, name="sites_resync"),
    path("tokens/", tokens.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("audit/", audit.audit, name="audit"),
    path("jobs/", jobs.jobs, name="jobs"),
    path("jobs/dead-letters/replay/", jobs.dead_letters_replay_all, name="dead_letters_replay_all"),
    path("jobs/dead-letters/<int:dead_letter_id>/", jobs.dead_letter, name="dead_letter"),
    path("jobs/dead-letters/<int:dead_letter_id>/<str:action>/", jobs.dead_letter_action, name="dead_letter_action"),
    path("webhooks/", webhooks.webhooks, name="webhooks"),
    path("webhooks/sources/", webhooks.webhook_source_create, name="webhook_source_create"),
    path("webhooks/sources/<int:source_id>/", webhooks.webhook_source, name="webhook_source"),
    path("webhooks/sources/<int:source_id>/dry-run/", webhooks.webhook_source_dry_run, name="webhook_source_dry_run"),
    path("webhooks/sources/<int:source_id>/rotate/", webhooks.webhook_source_rotate, name="webhook_source_rotate"),
    path("webhooks/sources/<int:source_id>/active/", webhooks.webhook_source_active, name="webhook_source_active"),
    path("webhooks/inbound/<int:delivery_id>/", webhooks.inbound_delivery, name="inbound_delivery"),
    path("webhooks/inbound/<int:delivery_id>/replay/", webhooks.inbound_replay, name="inbound_replay"),
    path("webhooks/subscriptions/", webhooks.webhook_subscription_create, name="webhook_subscription_create"),
    path("webhooks/subscriptions/<int:subscription_id>/", webhooks.webhook_subscription, name="webhook_subscription"),
    path("webhooks/subscriptions/<int:subscription_id>/ping/", webhooks.webhook_subscription_ping,
         name="webhook_subscription_ping"),
    path("webhooks/subscriptions/<int:subscription_id>/active/", webhooks.webhook_subscription_active,
         name="webhook_subscription_active"),
    path("webhooks/outbound/<int:delivery_id>/", webhooks.outbound_delivery, name="outbound_delivery"),
    path("webhooks/outbound/<int:delivery_id>/redeliver/", webhooks.outbound_redeliver, name="outbound_redeliver"),
]
