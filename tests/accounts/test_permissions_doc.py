from pathlib import Path

from stocktrace.tenancy.roles import matrix_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_permissions_page_shows_the_matrix_the_code_enforces():
    text = (DOCS / "permissions.md").read_text()
    between = text.split("<!-- matrix:start -->", 1)[1].split("<!-- matrix:end -->", 1)[0]
    assert between.strip() == matrix_markdown().strip()


def test_the_permissions_page_lists_every_endpoint():
    from tests.api.test_api_matrix import OPERATIONS

    text = (DOCS / "permissions.md").read_text()
    for key in OPERATIONS:
        method, path = key.split(" ", 1)
        assert f"/api/v1{path}" in text, f"{key} is missing from docs/permissions.md"
