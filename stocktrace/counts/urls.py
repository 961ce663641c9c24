from django.urls import path

from stocktrace.counts import views
from stocktrace.counts.permissions import COUNTS_VIEW
from stocktrace.web.navigation import NavLink

urlpatterns = [
    path("counts/", views.counts, name="counts"),
    path("counts/plan/", views.count_plan, name="count_plan"),
    path("counts/<int:count_id>/", views.count, name="count"),
    path("counts/<int:count_id>/live/", views.count_live, name="count_live"),
    path("counts/<int:count_id>/areas/", views.count_areas_add, name="count_areas_add"),
    path("counts/<int:count_id>/start/", views.count_start, name="count_start"),
    path("counts/<int:count_id>/cancel/", views.count_cancel, name="count_cancel"),
    path("counts/<int:count_id>/complete/", views.count_complete, name="count_complete"),
    path("counts/<int:count_id>/report/", views.count_report, name="count_report"),
    path("counts/<int:count_id>/labels/", views.count_labels, name="count_labels"),
    path("count-areas/<int:area_id>/", views.count_area, name="count_area"),
    path("count-areas/<int:area_id>/submit/", views.count_area_submit, name="count_area_submit"),
    path("count-areas/<int:area_id>/<str:action>/", views.count_area_action, name="count_area_action"),
    path("count-exceptions/<int:exception_id>/<str:action>/", views.count_exception_action,
         name="count_exception_action"),
    path("scan/", views.count_scan, name="count_scan"),
    path("scan/claim/", views.count_claim, name="count_claim"),
    path("scan/<int:area_id>/", views.count_scan, name="count_scan_area"),
]

NAVIGATION = [
    NavLink("Counts", "web:counts", COUNTS_VIEW, 45, sections=("count",)),
]
