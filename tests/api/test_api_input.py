"""Bad input answers a clear 4xx problem document and writes nothing."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from stocktrace.accounts.models import ApiToken
from stocktrace.accounts.services import token_create
from stocktrace.tenancy.roles import Role
from tests.conftest import api, database_state
from tests.factories import stocked


@pytest.fixture
def admin(world, client_as):
    return client_as(world.alpha, Role.ADMIN)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://stocktrace.dev/problems/")
    assert body["title"]
    return body


def test_malformed_json_is_400_and_writes_nothing(admin):
    before = database_state()
    response = admin.post("/api/v1/sites", data="{not json", content_type="application/json")
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    assert database_state() == before


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"code": 12, "name": ["x"]}, "name"),
        ({"code": "A"}, "name"),
        ({"code": "A", "name": "B", "colour": "red"}, "colour"),
        ({"code": "", "name": "B"}, "code"),
        ({"code": "A" * 33, "name": "B"}, "code"),
    ],
)
def test_invalid_fields_are_422_with_field_paths(admin, body, path):
    before = database_state()
    response = api(admin, "POST", "/sites", body)
    problem = assert_problem(response, 422)
    assert path in [error["path"] for error in problem["errors"]]
    assert database_state() == before


def test_a_json_array_instead_of_an_object_is_422(admin):
    before = database_state()
    assert_problem(api(admin, "POST", "/sites", [1, 2]), 422)
    assert database_state() == before


def test_oversized_body_is_413_and_writes_nothing(admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = database_state()
    response = api(admin, "POST", "/sites", {"code": "BIG", "name": "x", "address": "y" * 5000})
    assert_problem(response, 413)
    assert database_state() == before


def test_huge_ids_are_422_not_a_database_error(admin):
    assert_problem(api(admin, "GET", f"/members/{2**70}"), 422)
    assert_problem(api(admin, "GET", "/members/0"), 422)


def test_page_size_is_capped(admin):
    problem = assert_problem(api(admin, "GET", "/members?limit=201"), 422)
    assert problem["errors"][0]["path"] == "limit"


def test_a_forged_cursor_is_422(admin):
    problem = assert_problem(api(admin, "GET", "/members?cursor=%%%%"), 422)
    assert problem["errors"][0]["path"] == "cursor"


def test_domain_conflicts_are_409_with_the_field(admin, world):
    before = database_state()
    problem = assert_problem(api(admin, "POST", "/sites", {"code": world.alpha.sites[0].code, "name": "x"}), 409)
    assert problem["errors"] == [{"path": "code", "message": problem["detail"]}]
    assert database_state() == before


def test_unknown_api_path_is_a_problem_404(admin):
    assert_problem(admin.get("/api/v1/no-such-thing"), 404)


def test_unknown_api_paths_are_a_problem_404_for_a_browser_session_too(world):
    client = Client(enforce_csrf_checks=True)  # as a browser, or the fuzzer through the WSGI application
    client.force_login(world.alpha.user(Role.ADMIN))
    for method in ("post", "patch", "delete"):
        assert_problem(getattr(client, method)("/api/v1/no-such-thing"), 404)
    # A code no barcode can have (a line break) matches no route: a problem, not Django's HTML 403.
    assert_problem(client.delete("/api/v1/items/1/barcodes/a%0Ab"), 404)


def test_unauthenticated_is_401_with_www_authenticate(world):
    response = Client().get("/api/v1/me")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


BAD_HEADERS = ["Bearer nonsense", "Bearer st_", "Bearer st_abc_def", "Basic Zm9vOmJhcg==", "Bearer"]


@pytest.mark.parametrize("header", BAD_HEADERS)
def test_bad_tokens_are_401(world, header):
    before = database_state()
    assert_problem(Client().get("/api/v1/me", headers={"Authorization": header}), 401)
    assert database_state() == before


def _token(world, role=Role.COUNTER, **kwargs):
    token, plaintext = token_create(actor=world.alpha.actor(role), name="t", **kwargs)
    return token, {"Authorization": f"Bearer {plaintext}"}


def test_expired_token_is_401_and_writes_nothing(world):
    token, headers = _token(world, expires_at=timezone.now() + timedelta(minutes=5))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = database_state()
    assert_problem(Client().post("/api/v1/tokens", data=json.dumps({"name": "x"}),
                                 content_type="application/json", headers=headers), 401)
    assert database_state() == before


def test_token_with_wrong_secret_is_401(world):
    token, headers = _token(world)
    forged = headers["Authorization"][:-4] + "AAAA"
    assert_problem(Client().get("/api/v1/me", headers={"Authorization": forged}), 401)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/sites", {"code": "A\u0000", "name": "x"}),
    ("GET", "/members?role=ad%00min", None),
    ("GET", "/lookup/12%003", None),
])
def test_nul_characters_are_refused_before_they_reach_the_database(admin, method, path, body):
    before = database_state()
    problem = assert_problem(api(admin, method, path, body), 422)
    assert "NUL" in problem["detail"]
    assert database_state() == before


@pytest.mark.parametrize("sent", ["PAL%2F0001", "PAL/0001"])
def test_codes_with_a_slash_are_looked_up_and_removed(admin, sent):
    item = api(admin, "POST", "/items", {"sku": "PAL", "name": "Pallet", "barcodes": ["PAL/0001", "PAL/0002/"]})
    item = item.json()
    assert api(admin, "GET", f"/lookup/{sent}").json()["item"]["id"] == item["id"]
    assert api(admin, "GET", "/lookup/PAL%2F0002%2F").json()["item"]["id"] == item["id"]
    removed = api(admin, "DELETE", f"/items/{item['id']}/barcodes/{sent}")
    assert removed.status_code == 200, removed.content
    assert removed.json()["barcodes"] == ["PAL/0002/"]
    assert_problem(api(admin, "GET", f"/lookup/{sent}"), 404)
    assert_problem(api(admin, "DELETE", f"/items/{item['id']}/barcodes/{sent}"), 404)


def _receipt(client, item_id, location_id, quantity):
    # The JSON is written out by hand: json.dumps would send 1.0000000000000001 as the float it is in
    # Python, 1.0.
    text = f'{{"item_id": {item_id}, "location_id": {location_id}, "quantity": {quantity}}}'
    return client.post("/api/v1/stock/receipts", data=text, content_type="application/json")


def test_json_numbers_in_a_body_are_read_exactly_not_as_floats(admin, world):
    item, location = stocked(world.alpha)
    before = database_state()
    problem = assert_problem(_receipt(admin, item.pk, location.pk, "1.0000000000000001"), 422)
    assert problem["errors"] == [{"path": "quantity",
                                  "message": "1.0000000000000001 has more than 3 decimal places"}]
    problem = assert_problem(_receipt(admin, item.pk, location.pk, "123456789012345.123"), 422)
    assert problem["errors"][0]["path"] == "quantity"
    assert problem["errors"][0]["message"] == ("123456789012345.123 is out of range (quantities and money stay "
                                               "under 100 billion)")
    assert assert_problem(_receipt(admin, f"{item.pk}.5", location.pk, "1"), 422)["errors"][0]["path"] == "item_id"
    # An exponent no quantity or id can have is refused before a schema turns it into a huge integer.
    assert_problem(_receipt(admin, item.pk, location.pk, "1e99999999"), 400)
    assert_problem(_receipt(admin, "1e-99999999", location.pk, "1"), 400)
    assert database_state() == before
    received = _receipt(admin, item.pk, location.pk, "99999999999.999")
    assert (received.status_code, received.json()["quantity"]) == (201, "99999999999.999")
    received = _receipt(admin, f"{item.pk}.0", location.pk, "2")
    assert (received.status_code, received.json()["quantity"]) == (201, "2.000")


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+23:59",
                                    "0001-01-01T00:00:00+00:01", "1899-12-31T23:59:59Z", "9999-01-01T00:00:00Z"])
def test_times_outside_a_sane_range_are_422_not_a_500(admin, moment):
    before = database_state()
    created = api(admin, "POST", "/tokens", {"name": "far future", "expires_at": moment})
    assert created.status_code == 422, created.content
    assert created["Content-Type"] == "application/problem+json"
    assert created.json()["errors"] == [{"path": "expires_at",
                                         "message": "Give a time between the years 1900 and 9998"}]
    for bound in ("since", "until"):
        searched = admin.get("/api/v1/audit", {bound: moment})
        assert (searched.status_code, searched.json()["errors"][0]["path"]) == (422, bound)
    assert database_state() == before


def test_times_at_the_edges_of_the_range_are_taken_in_utc(admin):
    created = api(admin, "POST", "/tokens", {"name": "long lived", "expires_at": "9998-12-31T23:00:00-00:59"})
    assert created.status_code == 201, created.content
    assert created.json()["expires_at"] == "9998-12-31T23:59:00Z"


@pytest.mark.parametrize("method, path, allowed", [("post", "/api/v1/organizations", "GET"),
                                                   ("put", "/api/v1/me", "GET"),
                                                   ("delete", "/api/v1/sites", "GET, POST")])
def test_a_method_the_path_does_not_have_is_a_problem_405(admin, method, path, allowed):
    before = database_state()
    refused = getattr(admin, method)(path, data="{}", content_type="application/json")
    body = assert_problem(refused, 405)
    assert set(refused["Allow"].split(", ")) == set(allowed.split(", "))
    assert body["detail"] == f"{method.upper()} is not a method of {path}; use {refused['Allow']}"
    assert database_state() == before


def test_a_push_with_another_method_than_post_is_a_problem_405(world):
    refused = Client().get("/hooks/alpha/erp")
    assert_problem(refused, 405)
    assert refused["Allow"] == "POST"


def test_an_error_no_handler_catches_is_a_problem_500_with_the_request_id(admin, monkeypatch):
    from stocktrace.accounts.api import organizations

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(organizations, "active_memberships", broken)
    admin.raise_request_exception = False
    failed = admin.get("/api/v1/organizations", headers={"X-Request-ID": "req-42"})
    body = assert_problem(failed, 500)
    assert (body["request_id"], failed["X-Request-ID"]) == ("req-42", "req-42")
    assert "a bug" not in failed.content.decode()


@pytest.mark.parametrize("depth", [65, 1000])
def test_a_body_nested_too_deep_is_a_problem_400_and_changes_nothing(admin, depth):
    before = database_state()
    body = '{"code": "DEEP", "name": ' + "[" * depth + "]" * depth + "}"
    refused = admin.post("/api/v1/sites", data=body, content_type="application/json")
    assert assert_problem(refused, 400)["detail"] == "The JSON is nested more than 64 levels deep"
    assert database_state() == before


def test_a_multipart_body_without_a_boundary_is_a_problem_400(admin):
    refused = admin.generic("POST", "/api/v1/imports", data=b'{"email": "a@b.test", "password": "x"}',
                            content_type="multipart/form-data")
    assert assert_problem(refused, 400)["detail"] == "The request could not be read (its body or Content-Type)"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_json_body_sent_as_another_media_type_is_415_and_changes_nothing(admin, content_type):
    before = database_state()
    refused = admin.generic("POST", "/api/v1/sites", data=b'{"code": "EAST", "name": "East"}',
                            content_type=content_type)
    assert "application/json" in assert_problem(refused, 415)["detail"]
    assert database_state() == before


@pytest.mark.parametrize("body", [b"2.7e+135", b"[1]", b'"name"', b"true", b"null"])
def test_a_body_that_is_not_an_object_is_422(admin, body):
    before = database_state()
    refused = admin.generic("PATCH", "/api/v1/organization", data=body, content_type="application/json")
    assert assert_problem(refused, 422)["errors"][0]["message"] == "The body must be a JSON object"
    assert database_state() == before


@pytest.mark.parametrize("quantity", [" 1", "1 ", "1_000", "١", "３", "", "1e3", "+1", ".5", "0x10", "NaN", True])
def test_quantities_are_plain_ascii_decimals(world, admin, quantity):
    item, location = stocked(world.alpha)
    before = database_state()
    refused = api(admin, "POST", "/stock/receipts", {"item_id": item.pk, "location_id": location.pk,
                                                      "quantity": quantity})
    assert assert_problem(refused, 422)["errors"][0]["path"] == "quantity"
    assert database_state() == before


@pytest.mark.parametrize("code", ["４００６３８１３３３９３１", "٤٠٠٦٣٨١٣٣٣٩٣١", "SKU-Ａ", "SКU-1", " SKU-1", "SKU 1"])
def test_codes_and_barcodes_refuse_other_scripts_and_spaces(admin, code):
    """Full-width or Arabic-Indic digits and look-alike letters (a Cyrillic К) are refused, never stored beside
    the real code."""
    before = database_state()
    assert_problem(api(admin, "POST", "/items", {"sku": code, "name": "x"}), 422)
    assert_problem(api(admin, "POST", "/items", {"sku": "NEW-1", "name": "x", "barcodes": [code]}), 422)
    assert database_state() == before


def test_an_integer_written_with_a_zero_fraction_is_an_integer(admin):
    """JSON Schema counts 128.0 as an integer, so an integer field takes it; 128.5 and "128" it refuses."""
    created = api(admin, "POST", "/webhooks/sources", {"name": "ERP", "handler": "item.upsert",
                                                       "rate_limit_per_minute": 120.0})
    assert created.status_code == 201 and created.json()["rate_limit_per_minute"] == 120
    for wrong in (120.5, "120"):
        refused = api(admin, "POST", "/webhooks/sources", {"name": "ERP 2", "handler": "item.upsert",
                                                           "rate_limit_per_minute": wrong})
        assert assert_problem(refused, 422)["errors"][0]["path"] == "rate_limit_per_minute"


def test_every_schema_name_in_the_document_has_one_meaning():
    """Two different schemas of one name (two `Status` enums) refuse to build into a document."""
    from ninja import NinjaAPI, Router, Schema

    from stocktrace.api.problems import ProblemDocumentingAPI, SchemaNameClash

    def twin(values):
        class Status(Schema):
            value: str = values

        return Status

    first, second = twin("a"), twin("b")
    router = Router()
    router.get("/one", response=first)(lambda request: None)
    router.get("/two", response=second)(lambda request: None)
    doc_api = ProblemDocumentingAPI(urls_namespace="clash-test")
    doc_api.add_router("", router)
    with pytest.raises(SchemaNameClash, match="Status"):
        doc_api.get_openapi_schema(path_prefix="")
    assert isinstance(doc_api, NinjaAPI)


@pytest.mark.parametrize(("code", "detail"), [
    ("NOPE-1", "No item or location with the code 'NOPE-1'"),
    ("4006381333932", "No item or location with the code '4006381333932'; 4006381333932 has a wrong check digit "
                      "for a GTIN (expected 1): was it mistyped or misread?"),
    ("12345670", "No item or location with the code '12345670'"),  # a valid EAN-8 nobody has: no hint
])
def test_a_lookup_that_finds_nothing_says_what_was_looked_for(admin, code, detail):
    assert assert_problem(api(admin, "GET", f"/lookup/{code}"), 404)["detail"] == detail
