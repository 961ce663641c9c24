from django.urls import path

from stocktrace.audit import views
from stocktrace.audit.permissions import AUDIT_VIEW
from stocktrace.web.navigation import NavLink

urlpatterns = [
    path("audit/", views.audit, name="audit"),
]

NAVIGATION = [NavLink("Audit log", "web:audit", AUDIT_VIEW, 80)]
