from django.shortcuts import render
from django.urls import path

from stocktrace.web.decorators import page_requires
from stocktrace.web.navigation import NavLink
from tests.example_domain.permissions import EXAMPLE_VIEW


@page_requires(EXAMPLE_VIEW)
def example_page(request):
    return render(request, "example_domain/page.html", {})


urlpatterns = [path("example/", example_page, name="example")]

NAVIGATION = [NavLink("Example", "web:example", EXAMPLE_VIEW, 125)]
