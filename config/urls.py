from django.urls import include, path, re_path

from stocktrace.api.hooks import inbound_webhook
from stocktrace.api.problems import unknown_endpoint
from stocktrace.api.v1 import api
from stocktrace.ops import views as ops_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("hooks/<slug:organization_slug>/<slug:source_slug>", inbound_webhook, name="inbound_webhook"),
    path("api/v1/", api.urls),
    re_path(r"^api/", unknown_endpoint),
    path("", include("stocktrace.web.urls")),
]
