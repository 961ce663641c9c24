from pathlib import Path

from stocktrace.tenancy.roles import matrix_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_permissions_page_shows_the_matrix_the_code_enforces():
    text = (DOCS / "permissions.md").read_text()
    between = text.split("<!-- matrix:start -->", 1)[1].split("<!-- matrix:end -->", 1)[0]
    assert between.strip() == matrix_markdown().strip()


def test_the_permissions_page_lists_every_endpoint():
    from tests.test_api_matrix import OPERATIONS

    text = (DOCS / "permissions.md").read_text()
    for key in OPERATIONS:
        method, path = key.split(" ", 1)
        assert f"/api/v1{path}" in text, f"{key} is missing from docs/permissions.md"


def test_the_webhooks_page_lists_the_event_catalogue_and_only_events_to_come_as_not_built():
    import re

    from stocktrace.events.catalogue import event_catalogue

    EVENTS = event_catalogue()

    text = (DOCS / "webhooks.md").read_text()
    table = text.split("### Events", 1)[1].split("\n\n", 2)[1]
    assert re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.M) == list(EVENTS)
    to_come = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", text.split("## Not built yet", 1)[1]))
    planned = {"count.completed", "count_area.approved", "bill.finalized", "container.scanned"}
    assert planned - set(EVENTS) <= to_come, "a planned event is neither in the catalogue nor under Not built yet"
    assert not to_come & set(EVENTS), "an event that exists now belongs in the event list, not under Not built yet"
