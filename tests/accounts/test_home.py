"""The home page per role: the role's one-line hint, shortcuts to its daily actions, the figures of its sites
with the most urgent alerts, people without a site and failed jobs for an admin; and the look-up field."""

import re

import pytest
from django.utils.html import escape

from stocktrace.inventory.models import StockAlert
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_receive
from stocktrace.tenancy.models import SiteAssignment
from stocktrace.tenancy.roles import Role
from tests.factories import stocked
from tests.jobs.cases import _dead_letter


def _shortcuts(response) -> list[str]:
    return [s["label"] for s in response.context["shortcuts"]]


def _parse(html: str) -> dict[str, tuple]:
    """Site code → (items in stock, value, open alerts, urgent alerts), as the site panel shows them."""
    rows = re.findall(r'<tr data-site="([^"]+)">.*?<td class="num">(\d+)</td><td class="num">([\d.]+)</td>\s*'
                      r'<td class="num" data-testid="open-alerts">(?:<a [^>]*>)?(\d+)(?: \((\d+) urgent\))?',
                      html, re.S)
    return {code: (int(items), value, int(alerts), int(urgent or 0)) for code, items, value, alerts, urgent in rows}


@pytest.fixture
def north(world):
    """Stock at alpha's first site (the stocked bin, 10 × 2.50) plus 4 m of cable at 0.125, and two open alerts,
    one of them critical; stock at alpha's second site and at bravo that nobody at site 1 may see."""
    admin = world.alpha.actor()
    item, location = stocked(world.alpha)
    cable = item_create(actor=admin, sku="CABLE", name="Cable", unit="m", unit_cost="0.125")
    stock_receive(actor=admin, item=cable, location=location, quantity_received="4")
    far = location_create(actor=admin, site=world.alpha.sites[1], code="FAR-1")
    stock_receive(actor=admin, item=cable, location=far, quantity_received="1000")
    for severity, sku_item in (("critical", item), ("low", cable)):
        StockAlert.objects.create(organization=world.alpha.organization, kind="low_stock", severity=severity,
                                  item=sku_item, site=location.site, message=f"{sku_item.sku} is low")
    StockAlert.objects.create(organization=world.alpha.organization, kind="low_stock", severity="high", item=cable,
                              site=world.alpha.sites[1], message="CABLE is low far away")
    stocked(world.bravo)
    return item, cable


@pytest.mark.parametrize(("role", "shortcuts"), [
    (Role.ADMIN, ["Count", "Receive", "Issue", "Transfer", "Adjust", "Items", "Plan a count", "Import a file",
                  "Invite someone"]),
    (Role.SUPERVISOR, ["Count", "Receive", "Issue", "Transfer", "Adjust", "Items", "Plan a count"]),
    (Role.DISPATCHER, ["Receive", "Issue", "Transfer"]),
    (Role.COUNTER, ["Count"]), (Role.BILLER, []), (Role.VIEWER, []),
])
def test_each_role_gets_its_hint_and_its_daily_actions(world, client_as, role, shortcuts):
    response = client_as(world.alpha, role).get("/")
    assert response.status_code == 200
    assert _shortcuts(response) == shortcuts
    hint = response.context["role_hint"]
    assert hint and escape(hint) in response.content.decode()
    assert 'data-testid="lookup"' in response.content.decode()  # every role can look a code up


def test_a_supervisor_sees_the_figures_and_urgent_alerts_of_their_sites_only(world, client_as, north):
    response = client_as(world.alpha, Role.SUPERVISOR).get("/")
    html = response.content.decode()
    assert _parse(html) == {"ALPHA-1": (2, "25.50", 2, 1)}  # 10 × 2.50 + 4 × 0.125; one critical alert
    urgent = html[html.index('data-testid="urgent-alerts"'):]
    assert urgent.index("ALPHA-SKU-1 is low") < urgent.index("CABLE is low")  # critical first
    assert "far away" not in html and "bravo" not in html.lower()
    assert 'data-testid="people"' not in html and 'data-testid="jobs"' not in html  # the admin's business


def test_an_admin_sees_every_site_people_without_a_site_and_failed_jobs(world, client_as, north):
    SiteAssignment.objects.filter(membership=world.alpha.members[Role.VIEWER]).delete()
    _dead_letter(world.alpha, Role.ADMIN, world.alpha)
    response = client_as(world.alpha, Role.ADMIN).get("/")
    html = response.content.decode()
    assert _parse(html) == {"ALPHA-1": (2, "25.50", 2, 1), "ALPHA-2": (1, "125.00", 1, 1)}
    assert "1 without a site" in html and world.alpha.user(Role.VIEWER).email in html
    assert "1 failed job" in html and 'href="/jobs/#dead-letters"' in html
    assert "No worker running" in html


def test_someone_without_a_site_is_told_so_and_shown_no_figures(world, client_as, north):
    SiteAssignment.objects.filter(membership=world.alpha.members[Role.COUNTER]).delete()
    html = client_as(world.alpha, Role.COUNTER).get("/").content.decode()
    assert 'data-testid="no-site"' in html
    assert 'data-testid="site-figures"' not in html


def test_lookup_opens_an_item_or_a_location_and_names_what_was_not_found(world, client_as, north):
    item, _ = north
    _, location = stocked(world.alpha)
    client = client_as(world.alpha, Role.COUNTER)
    assert client.get("/lookup/", {"code": "4006381333931"})["Location"] == f"/items/{item.pk}/"
    assert client.get("/lookup/", {"code": " ALPHA-SKU-1 "})["Location"] == f"/items/{item.pk}/"  # a typed SKU
    assert client.get("/lookup/", {"code": location.barcode})["Location"] == f"/locations/{location.pk}/"
    missing = client.get("/lookup/", {"code": "4006381333932"}, follow=True)
    assert missing.redirect_chain == [("/", 302)]
    assert [str(m) for m in missing.context["messages"]] == [
        "No item or location with the code '4006381333932'; 4006381333932 has a wrong check digit for a GTIN "
        "(expected 1): was it mistyped or misread?"]
    assert client.get("/lookup/", {"code": "96385074"}, follow=True).redirect_chain == [("/", 302)]  # bravo's
    empty = client.get("/lookup/", follow=True)
    assert [str(m) for m in empty.context["messages"]] == ["Scan or type a code to look it up."]
