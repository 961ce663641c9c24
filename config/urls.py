"""The project's URLs: health, the /hooks/ push endpoint, the API, and every app's pages (`urlpatterns` of its
`urls.py`, all under the `web` namespace, in INSTALLED_APPS order)."""

from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path

from config.api import api
from stocktrace.api.problems import unknown_endpoint
from stocktrace.core.discovery import app_modules
from stocktrace.ops import views as ops_views
from stocktrace.webhooks.hooks import inbound_webhook


def favicon(request):
    """Browsers ask for /favicon.ico where a page names no icon (a JSON answer, a file)."""
    return redirect(static("web/favicon.svg"), permanent=True)


pages = [pattern for module in app_modules("urls") for pattern in module.urlpatterns]

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("favicon.ico", favicon),
    path("hooks/<slug:organization_slug>/<slug:source_slug>", inbound_webhook, name="inbound_webhook"),
    path("api/v1/", api.urls),
    re_path(r"^api/", unknown_endpoint),
    path("", include((pages, "web"))),
]
