"""Sites and what hangs on them: site codes follow the code rule, a generated location barcode fits its
column, and an archived site neither takes stock nor is archived while it holds some."""

from decimal import Decimal

import pytest

from stocktrace.accounts.services import site_archive, site_create
from stocktrace.core.errors import Conflict, InvalidInput
from stocktrace.inventory.models import Location, OnHand
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_issue, stock_receive
from stocktrace.tenancy.models import Site
from stocktrace.tenancy.roles import Role
from tests.api.test_api_input import assert_problem
from tests.conftest import api, database_state
from tests.factories import stocked


@pytest.fixture
def admin(world, client_as):
    return client_as(world.alpha, Role.ADMIN)


@pytest.mark.parametrize("code", ["WH EAST", "WH\tEAST", " ", "W" * 33])
def test_a_site_code_with_spaces_or_too_long_is_refused(world, admin, code):
    before = database_state()
    with pytest.raises(InvalidInput, match="code needs 1–32 characters without spaces: A–Z, a–z, 0–9 and ASCII"):
        site_create(actor=world.alpha.actor(), code=code, name="East")
    problem = assert_problem(api(admin, "POST", "/sites", {"code": code, "name": "East"}), 422)
    assert [e["path"] for e in problem["errors"]] == ["code"]
    assert database_state() == before


def test_the_sites_page_shows_a_refused_code_on_its_field(world, admin):
    before = database_state()
    response = admin.post("/sites/", {"code": "WH EAST", "name": "East"})
    assert response.context["form"].errors == {
        "code": ["code needs 1–32 characters without spaces: A–Z, a–z, 0–9 and ASCII punctuation"]}
    assert database_state() == before


def test_a_site_code_is_kept_as_given_without_surrounding_spaces(world):
    site = site_create(actor=world.alpha.actor(), code="  WH-EAST ", name="East")
    assert Site.objects.get(pk=site.pk).code == "WH-EAST"


def test_a_generated_barcode_longer_than_64_characters_is_refused(world, admin):
    site = site_create(actor=world.alpha.actor(), code="S" * 32, name="Long")
    before = database_state()
    problem = assert_problem(api(admin, "POST", "/locations", {"site_id": site.pk, "code": "L" * 32}), 422)
    detail = f"The generated barcode {'S' * 32}-{'L' * 32} is longer than 64 characters; give one"
    assert (problem["detail"], problem["errors"]) == (detail, [{"path": "barcode", "message": detail}])
    page = admin.post("/locations/new/", {"site": site.pk, "code": "L" * 32, "kind": "bin"})
    assert page.status_code == 422
    assert page.context["form"].errors == {"barcode": [detail]}
    assert database_state() == before
    # 64 characters fit; a barcode given is used instead.
    fits = api(admin, "POST", "/locations", {"site_id": site.pk, "code": "L" * 31})
    assert (fits.status_code, fits.json()["barcode"]) == (201, f"{'S' * 32}-{'L' * 31}")
    given = api(admin, "POST", "/locations", {"site_id": site.pk, "code": "L" * 64, "barcode": "LONG-1"})
    assert (given.status_code, given.json()["barcode"]) == (201, "LONG-1")


def test_a_site_code_with_spaces_from_before_the_rule_needs_a_barcode_given(world):
    actor = world.alpha.actor()
    site = Site.objects.create(organization=world.alpha.organization, code="OLD SITE", name="Legacy")
    before = database_state()
    with pytest.raises(InvalidInput, match="would contain spaces") as refused:
        location_create(actor=actor, site=site, code="A-01")
    assert refused.value.field == "barcode"
    assert database_state() == before
    assert location_create(actor=actor, site=site, code="A-01", barcode="OLD-A-01").barcode == "OLD-A-01"


@pytest.fixture
def closed(world):
    """Alpha's first site holds 10 in A-01; its second site, with an empty bin C-01, is archived."""
    item, a01 = stocked(world.alpha)
    c01 = location_create(actor=world.alpha.actor(), site=world.alpha.sites[1], code="C-01")
    site_archive(actor=world.alpha.actor(), site=world.alpha.sites[1])
    return item, a01, Location.objects.select_related("site").get(pk=c01.pk)


@pytest.mark.parametrize(("path", "body"), [
    ("/stock/receipts", {"location_id": "C01", "quantity": "1"}),
    ("/stock/adjustments", {"location_id": "C01", "delta": "1", "reason": "found"}),
    ("/stock/transfers", {"from_location_id": "A01", "to_location_id": "C01", "quantity": "1"}),
])
def test_an_archived_site_takes_no_postings(world, admin, closed, path, body):
    item, a01, c01 = closed
    ids = {"A01": a01.pk, "C01": c01.pk}
    body = {"item_id": item.pk, **{k: ids.get(v, v) for k, v in body.items()}}
    before = database_state()
    problem = assert_problem(api(admin, "POST", path, body), 409)
    assert problem["detail"] == "Site ALPHA-2 is archived"
    assert database_state() == before


def test_an_archived_site_takes_no_postings_from_the_services_or_pages(world, admin, closed):
    item, a01, c01 = closed
    before = database_state()
    with pytest.raises(Conflict, match="^Site ALPHA-2 is archived$"):
        stock_receive(actor=world.alpha.actor(), item=item, location=c01, quantity_received="1")
    page = admin.post("/stock/receive/", {"location": c01.barcode, "item": "4006381333931", "quantity": "1"})
    assert page.status_code == 422
    assert page.context["form"].errors == {"__all__": ["Site ALPHA-2 is archived"]}
    assert database_state() == before


def test_a_site_is_archived_only_once_its_stock_is_gone(world, admin):
    item, a01 = stocked(world.alpha)
    site = world.alpha.sites[0]
    before = database_state()
    problem = assert_problem(api(admin, "POST", f"/sites/{site.pk}/archive"), 409)
    assert problem["detail"] == "Stock lies at site ALPHA-1; transfer it away before archiving"
    assert database_state() == before
    # Below zero is stock too (owed to the site), and as much in the way.
    org = world.alpha.organization
    org.allow_negative_stock = True
    org.save()
    actor = world.alpha.actor()
    stock_issue(actor=actor, item=item, location=a01, quantity_issued="10.001")
    with pytest.raises(Conflict, match="Stock lies at site ALPHA-1"):
        site_archive(actor=actor, site=site)
    stock_receive(actor=actor, item=item, location=a01, quantity_received="0.001")
    assert OnHand.objects.get(location=a01).quantity == Decimal("0.000")
    archived = api(admin, "POST", f"/sites/{site.pk}/archive")
    assert archived.status_code == 200, archived.content
    assert Site.objects.get(pk=site.pk).archived_at is not None
    assert Location.objects.get(pk=a01.pk).archived_at is None


def test_archiving_a_site_ignores_other_sites_stock(world):
    stocked(world.alpha)
    item_create(actor=world.alpha.actor(), sku="EMPTY", name="Never stocked")
    site = site_archive(actor=world.alpha.actor(), site=world.alpha.sites[1])
    assert site.archived_at is not None
