from django.urls import include, path

from stocktrace.api.v1 import api
from stocktrace.ops import views as ops_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("", include("stocktrace.web.urls")),
]
