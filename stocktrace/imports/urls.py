from django.urls import path

from stocktrace.imports import views
from stocktrace.imports.permissions import INVENTORY_IMPORT
from stocktrace.web.navigation import NavLink

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/upload/", views.imports_upload, name="imports_upload"),
    path("imports/<int:run_id>/", views.import_run, name="import_run"),
    path("imports/<int:run_id>/apply/", views.import_apply, name="import_apply"),
]

NAVIGATION = [NavLink("Import/export", "web:imports", INVENTORY_IMPORT, 100, sections=("imports", "import_run"))]
