from django.urls import path

from stocktrace.web.navigation import NavLink
from stocktrace.webhooks import views
from stocktrace.webhooks.permissions import WEBHOOKS_MANAGE

urlpatterns = [
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/sources/", views.webhook_source_create, name="webhook_source_create"),
    path("webhooks/sources/<int:source_id>/", views.webhook_source, name="webhook_source"),
    path("webhooks/sources/<int:source_id>/dry-run/", views.webhook_source_dry_run, name="webhook_source_dry_run"),
    path("webhooks/sources/<int:source_id>/rotate/", views.webhook_source_rotate, name="webhook_source_rotate"),
    path("webhooks/sources/<int:source_id>/active/", views.webhook_source_active, name="webhook_source_active"),
    path("webhooks/inbound/<int:delivery_id>/", views.inbound_delivery, name="inbound_delivery"),
    path("webhooks/inbound/<int:delivery_id>/replay/", views.inbound_replay, name="inbound_replay"),
    path("webhooks/subscriptions/", views.webhook_subscription_create, name="webhook_subscription_create"),
    path("webhooks/subscriptions/<int:subscription_id>/", views.webhook_subscription, name="webhook_subscription"),
    path("webhooks/subscriptions/<int:subscription_id>/rotate/", views.webhook_subscription_rotate,
         name="webhook_subscription_rotate"),
    path("webhooks/subscriptions/<int:subscription_id>/ping/", views.webhook_subscription_ping,
         name="webhook_subscription_ping"),
    path("webhooks/subscriptions/<int:subscription_id>/active/", views.webhook_subscription_active,
         name="webhook_subscription_active"),
    path("webhooks/outbound/<int:delivery_id>/", views.outbound_delivery, name="outbound_delivery"),
    path("webhooks/outbound/<int:delivery_id>/redeliver/", views.outbound_redeliver, name="outbound_redeliver"),
    path("sites/resync/", views.sites_resync, name="sites_resync"),
]

NAVIGATION = [NavLink("Webhooks", "web:webhooks", WEBHOOKS_MANAGE, 110)]
