"""Generated page tests: every page follows the permission matrix and answers 404 for other tenants' ids."""

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from config.urls import pages as urlpatterns
from stocktrace.tenancy.roles import Role
from tests.cases import case_modules, collect
from tests.conftest import database_state
from tests.factories import stocked

# Django's own auth views: open to anyone (login, password set) or to any logged-in user.
OPEN_PAGES = {"login", "logout", "password_change", "password_set", "password_forgot", "password_forgot_sent",
              "organization_switch"}

PAGES = collect("PAGES")


def _page_views():
    return {p.name: p.callback for p in urlpatterns if isinstance(p, URLPattern)}


def _prepare(name, own, role, target) -> tuple[str, str, dict | None]:
    """The request for a page; builders may create the objects it names, so call this before a snapshot."""
    page = PAGES[name]
    url = reverse(f"web:{name}", kwargs=page.kwargs(own, role, target) if page.kwargs else None)
    return page.method, url, page.data(own, role, target) if page.method == "POST" else None


def _send(client, method, url, data):
    return client.post(url, data) if method == "POST" else client.get(url)


def _request(client, name, own, role, target):
    return _send(client, *_prepare(name, own, role, target))


def test_every_page_is_covered():
    views = _page_views()
    missing = sorted(set(views) - set(PAGES) - OPEN_PAGES)
    assert not missing, f"add these pages to PAGES in their app's tests/<app>/cases.py: {missing}"
    assert sorted(set(PAGES) - set(views)) == [], "cases of pages that do not exist"
    assert not set(PAGES) & OPEN_PAGES
    for name in PAGES:
        assert hasattr(views[name], "required_permission"), f"{name} lacks @page_requires"


def test_each_page_case_is_registered_by_the_app_that_serves_it():
    views = _page_views()
    misplaced = [(name, label) for label, module in case_modules().items() for name in getattr(module, "PAGES", {})
                 if views[name].__module__.split(".")[1] != label]
    assert misplaced == []


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_matrix(world, client_as, name, role):
    perm = _page_views()[name].required_permission
    client = client_as(world.alpha, role)
    stocked(world.alpha)  # the inventory cases' objects, made (and audited) before the snapshot below
    request = _prepare(name, world.alpha, role, world.alpha)
    if perm is None or role in perm.roles:
        response = _send(client, *request)
        assert response.status_code == PAGES[name].status, response.content[:500]
        assert b"bravo" not in response.content.lower()
    else:
        before = database_state()
        response = _send(client, *request)
        assert response.status_code == 403
        assert b"Not allowed" in response.content
        assert database_state() == before


@pytest.mark.parametrize("name", sorted(name for name, page in PAGES.items() if page.crosses_tenants))
def test_pages_answer_404_for_other_tenants_ids_and_change_nothing(world, client_as, name):
    client = client_as(world.alpha, Role.ADMIN)
    stocked(world.bravo)  # the inventory cases' target, made (and audited) before the snapshot
    request = _prepare(name, world.alpha, Role.ADMIN, world.bravo)
    before = database_state()
    response = _send(client, *request)
    assert response.status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_send_strangers_to_the_login(world, name):
    response = _request(Client(), name, world.alpha, Role.ADMIN, world.alpha)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_favicon_is_served_and_every_page_names_it(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("favicon.svg")
    assert 'rel="icon"' in client.get("/login/").content.decode()
