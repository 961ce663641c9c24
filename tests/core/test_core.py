import pytest
from django.test import Client, RequestFactory

from stocktrace.core.net import client_ip


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),
        (1, "not-an-ip", "10.0.0.2"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(settings, proxies, forwarded, expected):
    settings.STOCKTRACE_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize(("sent", "kept"), [("abc-123.x_y", True), ("a" * 65, False), ("evil\nline", False),
                                           ("abc\n", False)])
def test_request_ids_from_proxies_are_kept_only_when_plain(db, sent, kept):
    response = Client().get("/healthz", headers={"X-Request-ID": sent})
    assert (response["X-Request-ID"] == sent) is kept
    assert len(response["X-Request-ID"]) <= 64


@pytest.mark.django_db(transaction=True)
def test_hot_path_statements_survive_a_dropped_connection_only_when_idempotent():
    from django.db import OperationalError, connection

    from stocktrace.core.db import pg_execute

    if connection.vendor != "postgresql":
        pytest.skip("the hot path is PostgreSQL's")

    def drop_the_connection():
        pid = pg_execute("SELECT pg_backend_pid()", []).fetchone()[0]
        other = connection.copy()  # a second connection ends the first
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()

    drop_the_connection()
    assert pg_execute("SELECT 41 + %s", [1], idempotent=True).fetchone() == (42,)
    drop_the_connection()
    with pytest.raises(OperationalError):
        pg_execute("SELECT 1", [])
    connection.close()


@pytest.mark.django_db
def test_the_any_lookup_finds_what_in_finds_with_one_array_parameter_on_postgresql(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stocktrace.inventory.models import Item
    from stocktrace.tenancy.models import Site
    from tests.factories import stocked

    item, location = stocked(world.alpha)
    other, _ = stocked(world.bravo)
    sites = Site.objects.order_by("pk")
    for field, values in (("sku", [item.sku, other.sku, "NOPE", None]), ("pk", {item.pk, other.pk}),
                          ("sku", []), ("organization_id", [world.alpha.organization.pk])):
        model = Site if field == "organization_id" else Item
        found = sorted(model.objects.filter(**{f"{field}__any": values}).values_list("pk", flat=True))
        assert found == sorted(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
    assert list(sites.filter(organization__any=[world.bravo.organization])) == list(
        sites.filter(organization__in=[world.bravo.organization]))
    keys = [f"SKU-{n}" for n in range(3000)] + [item.sku]
    with CaptureQueriesContext(connection) as captured:
        assert list(Item.objects.filter(sku__any=keys)) == [item]
    if connection.vendor == "postgresql":
        assert "= ANY(" in captured.captured_queries[0]["sql"] and "IN (" not in captured.captured_queries[0]["sql"]
