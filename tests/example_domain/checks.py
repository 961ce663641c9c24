"""Run by tests/core/test_adding_a_domain.py with DJANGO_SETTINGS_MODULE=tests.example_domain.settings."""

import json

from django.conf import settings
from django.test import Client

from stocktrace.events.catalogue import event_catalogue
from stocktrace.events.inbound import HANDLERS
from stocktrace.jobs.registry import POLICIES
from stocktrace.tenancy.roles import Role, all_permissions, matrix_markdown
from stocktrace.webhooks.models import OutboundEvent
from stocktrace.webhooks.services import subscription_create


def test_the_example_domain_is_installed():
    assert "tests.example_domain" in settings.STOCKTRACE_APPS


def test_its_permission_joins_the_matrix():
    assert "example.view" in [perm.value for perm in all_permissions()]
    assert "| `example.view` | See the example page and call its endpoint | yes | yes | — | — | — | — |" \
        in matrix_markdown()


def test_its_event_handler_and_job_are_found():
    assert event_catalogue()["example.pinged"] == "Someone called the example endpoint"
    assert HANDLERS["example.echo"](organization=None, payload={"a": 1}) == {"echo": {"a": 1}}
    assert "tests.example_domain.tasks.example_tidy" in POLICIES


def test_its_endpoint_is_mounted_documented_and_enforced(world):
    document = json.loads(Client().get("/api/v1/openapi.json").content)
    assert "post" in document["paths"]["/api/v1/example/ping"]
    subscription_create(actor=world.alpha.actor(), url="http://127.0.0.1:9/x", events=["example.pinged"])
    supervisor, counter = Client(), Client()
    supervisor.force_login(world.alpha.user(Role.SUPERVISOR))
    counter.force_login(world.alpha.user(Role.COUNTER))
    assert counter.post("/api/v1/example/ping").status_code == 403
    assert OutboundEvent.objects.count() == 0
    answer = supervisor.post("/api/v1/example/ping")
    assert (answer.status_code, answer.json()) == (200, {"pong": True})
    assert list(OutboundEvent.objects.values_list("name", "payload")) == [("example.pinged", {"by": "supervisor"})]


def test_its_page_is_served_with_its_navigation_link(world):
    admin, counter = Client(), Client()
    admin.force_login(world.alpha.user(Role.ADMIN))
    counter.force_login(world.alpha.user(Role.COUNTER))
    page = admin.get("/example/").content.decode()
    assert '<h1 data-testid="example">The example domain</h1>' in page
    assert '<a href="/example/" aria-current="page">Example</a>' in page
    assert counter.get("/example/").status_code == 403
    assert 'href="/example/"' not in counter.get("/").content.decode()


def test_its_shortcut_and_panel_join_the_home_page_of_the_roles_that_may_use_them(world):
    admin, counter = Client(), Client()
    admin.force_login(world.alpha.user(Role.ADMIN))
    counter.force_login(world.alpha.user(Role.COUNTER))
    home = admin.get("/").content.decode()
    assert '<a class="btn" href="/example/"><span>Try the example</span>' in home
    assert '<div class="card" data-testid="example-panel"><h2>Example</h2><p>Hello, admin</p></div>' in home
    assert "example-panel" not in counter.get("/").content.decode()
