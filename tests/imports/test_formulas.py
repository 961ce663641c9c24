"""Formulas in exports (CSV injection, issue #11 defect 6): text a spreadsheet would run is escaped with an
apostrophe in CSV and stored as a text cell in XLSX; numbers are left alone; the import takes the apostrophe
off again, so an export imports back unchanged. Through the writer, the API, the CLI and a round trip."""

import io
import zipfile
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from stocktrace.core.formulas import FORMULA_STARTS, csv_escape, csv_unescape
from stocktrace.core.spreadsheets import csv_chunks, write_xlsx
from stocktrace.imports.readers import rows_of
from stocktrace.imports.services import import_file_apply
from stocktrace.inventory.models import Item, Location, OnHand
from stocktrace.inventory.services.catalog import item_create, location_create
from stocktrace.inventory.services.ledger import stock_issue, stock_receive
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization, Site
from stocktrace.tenancy.roles import Role
from tests.factories import stocked
from tests.imports.test_imports import ITEMS, make_file

SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# name as stored -> its CSV cell
ESCAPED = {
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "+1": "'+1",
    "-x": "'-x",
    "@SUM(A1)": "'@SUM(A1)",
    "=1+2": "'=1+2",
    "'=quoted": "''=quoted",  # read back with one apostrophe off, as written
    "''@x": "'''@x",
    "'plain": "'plain",
    "#N/A": "#N/A",  # openpyxl would write an error cell, not a text, in XLSX; harmless text in CSV
    "a=b": "a=b",
    "x-1": "x-1",
}
# Stored only by other means than stocktrace's services, which trim names.
UNTRIMMED = {"\tTAB": "'\tTAB", "\rCR": "'\rCR", "\nLF": "'\nLF"}


@pytest.mark.parametrize(("text", "cell"), [*ESCAPED.items(), *UNTRIMMED.items(), ("", ""), ("'", "'"),
                                            ("''", "''"), ("=", "'="), ("-", "'-")])
def test_the_csv_cell_of_a_text_and_back(text, cell):
    assert csv_escape(text) == cell
    assert csv_unescape(cell) == text


@given(st.text(alphabet=st.sampled_from("'=+-@\t\r\nab#|"), max_size=6) | st.text(max_size=6))
def test_every_text_comes_back_and_no_cell_begins_like_a_formula(text):
    assert csv_unescape(csv_escape(text)) == text
    assert csv_escape(text)[:1] not in FORMULA_STARTS


def _item_named(actor, sku: str, name: str) -> Item:
    item = item_create(actor=actor, sku=sku, name=name)
    if name != name.strip():  # the services trim names: an older version or SQL may have stored one untrimmed
        Item.objects.filter(pk=item.pk).update(name=name)
    return item


def _items_named(tenant, names) -> None:
    for n, name in enumerate(names):
        _item_named(tenant.actor(), f"F-{n}", name)


def _csv_items(cells) -> str:
    """The items export of items F-0, F-1, … with these name cells, as the csv module quotes them."""
    lines = [",".join(ITEMS)]
    for n, cell in enumerate(cells):
        quoted = f'"{cell}"' if any(c in cell for c in ',"\r\n') else cell
        lines.append(f"F-{n},{quoted},ea,0.0000,,,false,false,")
    return "".join(f"{line}\n" for line in lines)


def _sheet(content: bytes) -> ElementTree.Element:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))


def _cells(sheet: ElementTree.Element) -> dict[str, tuple[str | None, str]]:
    """Cell reference -> (type, text) of every cell of the sheet."""
    return {c.get("r"): (c.get("t"), "".join(c.itertext())) for c in sheet.iter(f"{SHEET}c")}


def _no_formula(content: bytes) -> dict[str, tuple[str | None, str]]:
    sheet = _sheet(content)
    assert sheet.findall(f".//{SHEET}f") == []
    return _cells(sheet)


def test_csv_export_escapes_text_through_the_writer_the_api_and_the_cli(world, client_as, capsys):
    _items_named(world.alpha, [*ESCAPED, *UNTRIMMED])
    expected = _csv_items([*ESCAPED.values(), *UNTRIMMED.values()])
    assert expected.splitlines(keepends=True)[1] == "F-0,'=cmd|' /C calc'!A0,ea,0.0000,,,false,false,\n"
    assert "\nF-12,\"'\rCR\",ea," in expected  # quoted: a bare carriage return would break the row
    response = client_as(world.alpha, Role.ADMIN).get("/api/v1/exports/items?format=csv")
    assert response.status_code == 200
    assert response.content.decode() == expected
    call_command("export", "items", "-", organization="alpha", stderr=io.StringIO())
    assert capsys.readouterr().out == expected


def test_xlsx_export_stores_text_cells_and_no_formula(world, client_as, tmp_path):
    _items_named(world.alpha, [*ESCAPED, *UNTRIMMED])
    response = client_as(world.alpha, Role.ADMIN).get("/api/v1/exports/items?format=xlsx")
    assert response.status_code == 200
    cells = _no_formula(response.content)
    names = [cells[f"B{row}"] for row in range(2, 2 + len(ESCAPED) + len(UNTRIMMED))]
    assert names == [("inlineStr", name) for name in [*ESCAPED, *UNTRIMMED]]
    path = tmp_path / "items.xlsx"
    call_command("export", "items", str(path), organization="alpha", stderr=io.StringIO())
    assert _cells(_sheet(path.read_bytes())) == cells


def test_negative_quantities_are_numbers_and_not_escaped_where_text_is(world, client_as):
    """The quantity -5.000 is a number; the SKU -5 is text, escaped in CSV."""
    actor = world.alpha.actor()
    org = world.alpha.organization
    org.allow_negative_stock = True
    org.save()
    _, a01 = stocked(world.alpha)
    minus = item_create(actor=actor, sku="-5", name="-5", unit_cost="1.5")
    stock_issue(actor=actor, item=minus, location=a01, quantity_issued="5")
    assert OnHand.objects.get(item=minus).quantity == -5
    client = client_as(world.alpha, Role.ADMIN)
    assert client.get("/api/v1/exports/stock?format=csv").content.decode() == (
        "site_code,location_code,sku,quantity,lot,expires_on,unit_cost\n"
        "ALPHA-1,A-01,ALPHA-SKU-1,10.000,,,2.5000\n"
        "ALPHA-1,A-01,'-5,-5.000,,,1.5000\n")
    cells = _no_formula(client.get("/api/v1/exports/stock?format=xlsx").content)
    assert [cells[f"{column}3"] for column in "CDG"] == [("inlineStr", "-5"), ("n", "-5"), ("n", "1.5")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_escaped_text_imports_back_unchanged(world, tmp_path, fmt):
    """Items, locations and lots of another organization's export: the same text, the same files again."""
    actor = world.alpha.actor()
    for n, name in enumerate(ESCAPED):
        item_create(actor=actor, sku=f"F-{n}", name=name, unit=("-", "@kg", "=u")[n % 3],
                    tracks_lots=n == 0)
    zone = location_create(actor=actor, site=world.alpha.sites[0], code="-Z", kind="zone",
                           name='=HYPERLINK("http://evil.test","x")')
    bin_ = location_create(actor=actor, site=world.alpha.sites[0], code="@Z-1", parent=zone, name="+bin",
                           barcode="-BIN-1")
    stock_receive(actor=actor, item=Item.objects.get(sku="F-0"), location=bin_, quantity_received="3",
                  lot="=L1")
    charlie = Organization.objects.create(name="Charlie", slug="charlie")
    Site.objects.create(organization=charlie, code="ALPHA-1", name="Same code")
    exported = {}
    for kind in ("items", "locations", "stock"):
        path = tmp_path / f"{kind}.{fmt}"
        call_command("export", kind, str(path), organization="alpha", stderr=io.StringIO())
        exported[kind] = path.read_bytes() if fmt == "csv" else _cells(_sheet(path.read_bytes()))
        run = import_file_apply(actor=Actor.system(charlie), kind=kind, path=path, fmt=fmt)
        assert run.status == "applied", run.errors
    assert _texts(charlie) == _texts(world.alpha.organization)
    for kind in ("items", "locations", "stock"):
        path = tmp_path / f"{kind}-again.{fmt}"
        call_command("export", kind, str(path), organization="charlie", stderr=io.StringIO())
        assert (path.read_bytes() if fmt == "csv" else _cells(_sheet(path.read_bytes()))) == exported[kind]


def _texts(org) -> dict:
    return {
        "items": sorted(Item.objects.filter(organization=org).values_list("sku", "name", "unit")),
        "locations": sorted(Location.objects.filter(organization=org).values_list("code", "name", "barcode")),
        "lots": sorted(OnHand.objects.filter(organization=org).values_list("item__sku", "lot", "quantity")),
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_text_beginning_with_a_tab_or_line_break_comes_back_trimmed(world, tmp_path, fmt):
    """Escaped in CSV like the rest, and read back as the item page would store it: trimmed."""
    for n, name in enumerate(UNTRIMMED):
        _item_named(world.alpha.actor(), f"F-{n}", name)
    path = tmp_path / f"items.{fmt}"
    call_command("export", "items", str(path), organization="alpha", stderr=io.StringIO())
    charlie = Organization.objects.create(name="Charlie", slug="charlie")
    run = import_file_apply(actor=Actor.system(charlie), kind="items", path=path, fmt=fmt)
    assert run.status == "applied", run.errors
    assert sorted(Item.objects.filter(organization=charlie).values_list("sku", "name")) == [
        ("F-0", "TAB"), ("F-1", "CR"), ("F-2", "LF")]


@pytest.mark.parametrize(("fmt", "cell", "name"), [
    ("csv", "'=x", "=x"),
    ("csv", "''=x", "'=x"),
    ("csv", "'-x", "-x"),
    ("csv", "'plain", "'plain"),
    ("csv", "'", "'"),
    ("csv", "=x", "=x"),  # a file not written by stocktrace: read as it is
    ("xlsx", "'=x", "'=x"),  # XLSX text cells are never escaped, so never unescaped
    ("xlsx", "=x", "=x"),
])
def test_the_import_takes_off_one_apostrophe_in_csv_only(world, tmp_path, fmt, cell, name):
    rows = [["sku", "name"], ["I-1", cell]]
    if fmt == "csv":
        path = make_file(tmp_path, fmt, rows)
    else:  # a text cell: the test's make_file would let openpyxl turn "=x" into a formula
        path = tmp_path / "import.xlsx"
        write_xlsx(rows[0], rows[1:], path)
    run = import_file_apply(actor=world.alpha.actor(), kind="items", path=path, fmt=fmt)
    assert run.status == "applied", run.errors
    assert Item.objects.get(sku="I-1").name == name


def test_a_carriage_return_inside_a_text_is_quoted_and_read_back(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("".join(csv_chunks(["name"], [("a\rb",), ("x\ny",)])), newline="")
    assert path.read_bytes() == b'name\n"a\rb"\n"x\ny"\n'
    with rows_of(path, "csv") as rows:
        assert list(rows) == [(1, ["name"]), (2, ["a\rb"]), (3, ["x\ny"])]


def test_xlsx_export_leaves_out_what_xml_cannot_hold_and_csv_keeps_it(world, client_as):
    """A name with control characters (the API took them) made openpyxl refuse the whole export: a 500."""
    _item_named(world.alpha.actor(), "CTRL-1", "Pallet\x10\x1a wrap\x0e")
    client = client_as(world.alpha, Role.ADMIN)
    sheet = client.get("/api/v1/exports/items?format=xlsx")
    assert sheet.status_code == 200
    assert _no_formula(sheet.content)["B2"] == ("inlineStr", "Pallet wrap")
    assert "Pallet\x10\x1a wrap\x0e" in client.get("/api/v1/exports/items?format=csv").content.decode()
