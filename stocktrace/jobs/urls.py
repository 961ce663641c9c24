from django.urls import path

from stocktrace.jobs import views
from stocktrace.jobs.permissions import JOBS_VIEW
from stocktrace.web.navigation import NavLink

urlpatterns = [
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/dead-letters/replay/", views.dead_letters_replay_all, name="dead_letters_replay_all"),
    path("jobs/dead-letters/<int:dead_letter_id>/", views.dead_letter, name="dead_letter"),
    path("jobs/dead-letters/<int:dead_letter_id>/<str:action>/", views.dead_letter_action, name="dead_letter_action"),
]

NAVIGATION = [NavLink("Jobs", "web:jobs", JOBS_VIEW, 90)]
