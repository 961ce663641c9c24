"""A client generated from the OpenAPI document round-trips real calls (#11: the document is the contract).

Once per module, the document served by a live server is written to a temporary folder, openapi-python-client
generates a package from it (a subprocess, offline), and the package is imported. Then, for every tag of the
document, at least one real call goes through the generated code to the live server with an API token, and:

- the answer has the documented status and the generated client parsed it into the operation's model (not
  `None`, not a `Problem`), with the values the call should give; an error answer into `Problem`;
- the model writes back what the server sent (`to_dict()` equals the JSON, times compared as instants): a field
  the model lost or misread shows up here;
- no model holds a field the document does not declare (openapi-python-client keeps those in
  `additional_properties`).

Operations are found from the document (tag and operationId → module), and request bodies from the generated
functions' signatures, so renaming an operationId or a schema does not break these tests, but a wrong document
does. The generator's warnings (constructs it cannot express, so it leaves pieces out) fail their own test."""

import importlib
import io
import json
import os
import subprocess
import sys
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import ModuleType, SimpleNamespace

import attrs
import httpx
import pytest
from openapi_python_client.strings import PythonIdentifier

from config.api import api as v1
from stocktrace.accounts.services import token_create
from stocktrace.tenancy.roles import Role
from tests.factories import PASSWORD, make_world, stocked

pytestmark = pytest.mark.slow  # a generator subprocess and a live server: about 10 s

PACKAGE = "stocktrace_api_client"
DOCUMENT = v1.get_openapi_schema()  # for the parametrization; the tests generate from the document as served
TAGS = sorted({op["tags"][0] for item in DOCUMENT["paths"].values() for op in item.values() if op.get("tags")})


# --- generating and importing the client --------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory, django_db_blocker) -> SimpleNamespace:
    """The package openapi-python-client generates from the document served at /api/v1/openapi.json."""
    folder = tmp_path_factory.mktemp("client")
    with django_db_blocker.unblock():
        served = httpx.get(f"{live_server.url}/api/v1/openapi.json", timeout=30)
    assert served.status_code == 200, served.text[:500]
    document_path = folder / "openapi.json"
    document_path.write_bytes(served.content)
    bin_dir = str(Path(sys.executable).parent)  # ruff, which the generator runs on its output, is installed here
    offline = "http://127.0.0.1:9"  # nothing listens there: any attempt to reach the network fails
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "HTTP_PROXY": offline, "HTTPS_PROXY": offline, "ALL_PROXY": offline, "NO_PROXY": ""}
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document_path), "--meta", "none",
         "--output-path", str(folder / PACKAGE)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = f"{run.stdout}\n{run.stderr}".strip()
    assert run.returncode == 0, f"openapi-python-client failed:\n{output}"
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        yield SimpleNamespace(package=package, document=served.json(), output=output)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_the_generator_takes_the_whole_document_without_a_warning(generated):
    """openapi-python-client warns about each construct it cannot express, and leaves that piece out."""
    warnings = [line for line in generated.output.splitlines()
                if line.strip() and not line.startswith(("Generating ", "If you believe this was a mistake"))]
    assert not warnings, "openapi-python-client warned:\n" + "\n".join(warnings)


def test_every_generated_module_imports(generated):
    """A module that does not import is an operation no one can call through the generated client."""
    root = Path(generated.package.__file__).parent
    broken = []
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        try:
            importlib.import_module(name)
        except Exception as error:
            broken.append(f"{name}: {type(error).__name__}: {error}")
    assert not broken, "generated modules that cannot be imported:\n" + "\n".join(broken)


def test_every_tag_of_the_document_has_a_call_here():
    missing = sorted(set(TAGS) - {tag for tag, _ in CALLS})
    assert missing == [], f"add a call through the generated client for these tags: {missing}"
    gone = sorted({tag for tag, _ in CALLS} - set(TAGS))
    assert gone == [], f"these tags are not in the document any more: {gone}"


# --- calling through the generated client --------------------------------------------------------------------

class Caller:
    """Calls operations through the generated package and checks what it made of the answers."""

    def __init__(self, generated: SimpleNamespace, base_url: str, token: str, world):
        self.package = generated.package
        self.document = generated.document
        self.base_url = base_url
        self.world = world
        self.admin = world.alpha.user(Role.ADMIN)
        self.answers: list[httpx.Response] = []
        self.clients: list = []
        self.client = self.with_token(token)

    def _options(self) -> dict:
        def keep(response: httpx.Response) -> None:
            response.read()
            self.answers.append(response)

        return {"raise_on_unexpected_status": True, "timeout": httpx.Timeout(30),
                "httpx_args": {"event_hooks": {"response": [keep]}}}

    def anonymous(self):
        self.clients.append(self.package.Client(base_url=self.base_url, **self._options()))
        return self.clients[-1]

    def with_token(self, token: str):
        self.clients.append(self.package.AuthenticatedClient(base_url=self.base_url, token=token, **self._options()))
        return self.clients[-1]

    def close(self) -> None:
        """Kept-alive connections hold a live-server thread, and with it a database connection, open."""
        for client in self.clients:
            client.get_httpx_client().close()

    def endpoint(self, method: str, path: str) -> ModuleType:
        """The generated module of an operation: api/<tag>/<operationId>.py, as the generator names them."""
        operation = self.document["paths"][path][method.lower()]
        tag = PythonIdentifier(operation["tags"][0], prefix="tag")
        name = PythonIdentifier(operation["operationId"], prefix="field_")
        module = f"{self.package.__name__}.api.{tag}.{name}"
        try:
            return importlib.import_module(module)
        except Exception as error:
            pytest.fail(f"{method} {path}: the generated module {module} cannot be imported: "
                        f"{type(error).__name__}: {error}")

    def body(self, method: str, path: str, *, multipart: bool = False) -> type:
        """The generated class of an operation's request body (its multipart one when asked)."""
        annotation = typing.get_type_hints(self.endpoint(method, path)._get_kwargs)["body"]
        classes = [t for t in (typing.get_args(annotation) or [annotation]) if attrs.has(t)]
        classes = [t for t in classes if hasattr(t, "to_multipart") == multipart]
        assert len(classes) == 1, f"{method} {path}: body classes {classes} (multipart={multipart})"
        return classes[0]

    def call(self, method: str, path: str, expect: int, *, client=None, **arguments):
        """`sync_detailed` of the operation; returns what the client parsed (a `Problem` for an error), checked."""
        module = self.endpoint(method, path)
        expected = _answer_types(module, problem=expect >= 400)
        self.answers.clear()
        arguments = _as_declared(module.sync_detailed, arguments)
        try:
            response = module.sync_detailed(client=client or self.client, **arguments)
        except Exception as error:
            raw = self.answers[-1] if self.answers else None
            said = f"{raw.status_code} {raw.text[:1500]}" if raw is not None else "nothing"
            pytest.fail(f"{method} {path}: the generated client raised {type(error).__name__}: {error}\n"
                        f"  the server answered {said}")
        sent = response.content.decode()
        assert response.status_code == expect, f"{method} {path}: {int(response.status_code)} {sent[:1500]}"
        parsed = response.parsed
        assert parsed is not None and isinstance(parsed, expected), \
            f"{method} {path}: the client made {type(parsed).__name__} of it, not {expected}: {sent[:1500]}"
        read = [item.to_dict() for item in parsed] if isinstance(parsed, list) else parsed.to_dict()
        problems = _differences(json.loads(response.content), read) + _undeclared(parsed)
        assert not problems, f"{method} {path}: what the client read differs from what the server sent:\n" + \
            "\n".join(problems)
        return parsed


def _as_declared(function, arguments: dict) -> dict:
    """Text given for a parameter the client declares as a generated Enum becomes that Enum, as a caller would
    pass it (`AlertStatus("open")`)."""
    hints = typing.get_type_hints(function)
    for name, value in arguments.items():
        enums = [t for t in typing.get_args(hints.get(name)) or [hints.get(name)]
                 if isinstance(t, type) and issubclass(t, Enum)]
        if isinstance(value, str) and enums:
            arguments[name] = enums[0](value)
    return arguments


def _answer_types(module: ModuleType, *, problem: bool) -> tuple[type, ...]:
    """The classes `sync_detailed` parses a success (or an error: `Problem`) into, from its return type."""
    annotation = typing.get_type_hints(module._parse_response)["return"]
    kinds = [t for t in typing.get_args(annotation)
             if t is not type(None) and (getattr(t, "__name__", "") == "Problem") == problem]
    return tuple(typing.get_origin(t) or t for t in kinds)


def _same_instant(sent: str, read: str) -> bool:
    try:
        return datetime.fromisoformat(sent) == datetime.fromisoformat(read)
    except ValueError:
        return False


def _differences(sent, read, where: str = "$") -> list[str]:
    if isinstance(sent, dict) and isinstance(read, dict):
        found = []
        for key in sorted(sent.keys() | read.keys()):
            if key not in read:
                found.append(f"{where}.{key}: sent by the server, missing in the client's model")
            elif key not in sent:
                found.append(f"{where}.{key}: not sent, the client's model has {read[key]!r}")
            else:
                found += _differences(sent[key], read[key], f"{where}.{key}")
        return found
    if isinstance(sent, list) and isinstance(read, list):
        if len(sent) != len(read):
            return [f"{where}: {len(sent)} entries sent, {len(read)} read"]
        return [d for i, (a, b) in enumerate(zip(sent, read, strict=True)) for d in _differences(a, b, f"{where}[{i}]")]
    if sent == read and isinstance(sent, bool) == isinstance(read, bool):
        return []
    if isinstance(sent, str) and isinstance(read, str) and _same_instant(sent, read):
        return []
    return [f"{where}: sent {sent!r}, the client's model has {read!r}"]


def _undeclared(value, where: str = "$") -> list[str]:
    """Fields the server sent that the document does not declare (kept in a model's additional_properties)."""
    if isinstance(value, list):
        return [d for i, item in enumerate(value) for d in _undeclared(item, f"{where}[{i}]")]
    if not attrs.has(type(value)):
        return []
    found = []
    fields = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
    extra = getattr(value, "additional_properties", {})
    if fields and extra:  # a model without declared fields is a map (dict[str, …]): its keys are its content
        found.append(f"{where} ({type(value).__name__}): the document does not declare {sorted(extra)}")
    for name in fields:
        found += _undeclared(getattr(value, name), f"{where}.{name}")
    for key, item in extra.items():
        found += _undeclared(item, f"{where}.{key}")
    return found


def is_enum(value, text: str) -> bool:
    """The client read a value of an enum of the document into its Enum class, not a bare string."""
    return isinstance(value, Enum) and value.value == text


# --- one or more calls per tag -----------------------------------------------------------------------------

CALLS: list[tuple[str, Callable[[Caller], None]]] = []


def calls(tag: str):
    def register(check: Callable[[Caller], None]):
        CALLS.append((tag, check))
        return check

    return register


@calls("auth")
def login_with_a_password(c: Caller):
    session = c.anonymous()
    body = c.body("POST", "/api/v1/auth/login").from_dict({"email": c.admin.email.upper(), "password": PASSWORD})
    out = c.call("POST", "/api/v1/auth/login", 200, client=session, body=body)
    assert out.email == c.admin.email
    assert "sessionid" in session.get_httpx_client().cookies


@calls("me")
def who_am_i(c: Caller):
    me = c.call("GET", "/api/v1/me", 200)
    assert (me.id, me.email, me.role, me.site_ids) == (c.admin.pk, c.admin.email, "admin", None)
    assert (me.organization.slug, me.organization.allow_negative_stock) == ("alpha", False)
    assert [(m.organization.slug, m.role) for m in me.memberships] == [("alpha", "admin")]
    assert "members.manage" in me.permissions


@calls("organizations")
def my_organizations(c: Caller):
    mine = c.call("GET", "/api/v1/organizations", 200)
    assert [(m.organization.name, m.organization.slug, m.role) for m in mine] == [("Alpha Org", "alpha", "admin")]
    body = c.body("PATCH", "/api/v1/organization").from_dict({"allow_negative_stock": True})
    org = c.call("PATCH", "/api/v1/organization", 200, body=body)
    assert (org.id, org.slug, org.allow_negative_stock) == (c.world.alpha.organization.pk, "alpha", True)


@calls("members")
def members_page_by_page(c: Caller):
    members = sorted(c.world.alpha.members.values(), key=lambda m: m.pk)
    first = c.call("GET", "/api/v1/members", 200, limit=4)
    assert first.next_cursor
    rest = c.call("GET", "/api/v1/members", 200, limit=4, cursor=first.next_cursor)
    assert rest.next_cursor is None
    got = first.items + rest.items
    assert all(isinstance(m.role, Enum) for m in got), [m.role for m in got]
    assert [(m.id, m.email, m.role.value) for m in got] == [(m.pk, m.user.email, m.role) for m in members]
    counter = next(m for m in got if m.role == "counter")
    assert (counter.site_ids, counter.is_active, counter.last_login) == ([c.world.alpha.sites[0].pk], True, None)
    assert isinstance(counter.created_at, datetime) and counter.created_at.tzinfo is not None


@calls("sites")
def create_a_site(c: Caller):
    body = c.body("POST", "/api/v1/sites").from_dict({"code": "WH-EAST", "name": "East warehouse",
                                                      "address": "3 Dock Lane"})
    site = c.call("POST", "/api/v1/sites", 201, body=body)
    assert (site.code, site.name, site.address, site.archived_at) == ("WH-EAST", "East warehouse", "3 Dock Lane",
                                                                      None)
    shown = c.call("GET", "/api/v1/sites/{site_id}", 200, site_id=site.id)
    assert (shown.id, shown.created_at) == (site.id, site.created_at)
    elsewhere = c.call("GET", "/api/v1/sites/{site_id}", 404, site_id=c.world.bravo.sites[0].pk)  # a Problem
    assert (elsewhere.status, elsewhere.type_) == (404, "https://stocktrace.dev/problems/not_found")


@calls("tokens")
def create_a_token_and_use_it(c: Caller):
    expires = datetime(2031, 1, 1, tzinfo=UTC)
    body = c.body("POST", "/api/v1/tokens").from_dict({"name": "Scanner 4, aisle B",
                                                       "expires_at": "2031-01-01T00:00:00Z"})
    created = c.call("POST", "/api/v1/tokens", 201, body=body)
    assert created.token.startswith(f"st_{created.prefix}_")
    assert (created.name, created.expires_at, created.revoked_at) == ("Scanner 4, aisle B", expires, None)
    mine = c.call("GET", "/api/v1/tokens", 200, client=c.with_token(created.token))
    assert [(t.id, t.name) for t in mine][:1] == [(created.id, "Scanner 4, aisle B")]
    assert not any(hasattr(t, "token") for t in mine)


@calls("audit")
def read_the_audit_log(c: Caller):
    page = c.call("GET", "/api/v1/audit", 200, action="token.")
    assert [(e.action, e.object_type, e.actor_email) for e in page.items] == \
        [("token.create", "accounts.apitoken", c.admin.email)]
    event = page.items[0]
    assert event.actor_id == c.admin.pk and event.before is None
    assert event.after["name"] == "client test"  # a map: the snapshot as stored
    assert isinstance(event.created_at, datetime)


@calls("jobs")
def job_statistics_and_progress(c: Caller):
    from stocktrace.inventory.services.alerts import alerts_recheck_start

    task_id = alerts_recheck_start(actor=c.world.alpha.actor())  # queued; no worker runs here
    stats = c.call("GET", "/api/v1/jobs/stats", 200)
    assert sorted(stats.windows.additional_properties) == ["day", "hour"]
    assert [(q.queue, q.ready, q.due, q.running) for q in stats.queues] == [("maintenance", 1, 1, 0)]
    assert stats.workers_alive == 0
    progress = c.call("GET", "/api/v1/jobs/{task_id}/progress", 200, task_id=task_id)
    assert (str(progress.task_id), progress.status, progress.done, progress.total) == (task_id, "READY", 0, 0)


@calls("locations")
def create_a_location(c: Caller):
    site = c.world.alpha.sites[0]
    body = c.body("POST", "/api/v1/locations").from_dict({"site_id": site.pk, "code": "A-01", "kind": "rack",
                                                          "name": "Aisle A, rack 1"})
    location = c.call("POST", "/api/v1/locations", 201, body=body)
    assert (location.site_id, location.code, location.kind, location.name, location.parent_id) == \
        (site.pk, "A-01", "rack", "Aisle A, rack 1", None)
    assert location.barcode == f"{site.code}-A-01"
    page = c.call("GET", "/api/v1/locations", 200, site_id=site.pk)
    assert [loc.id for loc in page.items] == [location.id]


@calls("items")
def create_an_item_and_scan_it(c: Caller):
    body = c.body("POST", "/api/v1/items").from_dict({"sku": "BOLT-M8", "name": "Bolts M8", "unit_cost": "0.1234",
                                                      "min_level": "5", "barcodes": ["4006381333931"]})
    item = c.call("POST", "/api/v1/items", 201, body=body)
    assert (item.sku, item.name, item.unit, item.unit_cost, item.min_level, item.max_level) == \
        ("BOLT-M8", "Bolts M8", "ea", "0.1234", "5.000", None)
    assert (item.barcodes, item.tracks_lots, item.archived_at) == (["4006381333931"], False, None)
    found = c.call("GET", "/api/v1/lookup/{code}", 200, code="4006381333931")
    assert (found.item.id, found.location) == (item.id, None)


@calls("stock")
def receive_and_read_stock_on_hand(c: Caller):
    item, location = stocked(c.world.alpha)  # 10 in the bin
    body = c.body("POST", "/api/v1/stock/receipts").from_dict({
        "item_id": item.pk, "location_id": location.pk, "quantity": "2.5", "reference": "PO-1"})
    movement = c.call("POST", "/api/v1/stock/receipts", 201, body=body)
    assert is_enum(movement.kind, "receipt")
    assert (movement.item_id, movement.location_id, movement.quantity, movement.reference, movement.actor_email) == \
        (item.pk, location.pk, "2.500", "PO-1", c.admin.email)
    assert (movement.lot, movement.expires_on, movement.unit_cost) == ("", None, "2.5000")
    page = c.call("GET", "/api/v1/stock", 200, item_id=item.pk)
    assert [(row.sku, row.location_code, row.lot, row.quantity) for row in page.items] == \
        [(item.sku, "A-01", "", "12.500")]


@calls("counts")
def a_count_planned_started_and_synced(c: Caller):
    item, location = stocked(c.world.alpha)  # 10 in the bin
    body = c.body("POST", "/api/v1/counts").from_dict({"site_id": c.world.alpha.sites[0].pk, "name": "Bin A-01",
                                                       "kind": "spot", "mode": "blind"})
    count = c.call("POST", "/api/v1/counts", 201, body=body)
    assert is_enum(count.status, "planned") and is_enum(count.mode, "blind") and count.progress.areas == 0
    areas = c.call("POST", "/api/v1/counts/{count_id}/areas", 201, count_id=count.id,
                   body=c.body("POST", "/api/v1/counts/{count_id}/areas").from_dict({"location_ids": [location.pk]}))
    started = c.call("POST", "/api/v1/counts/{count_id}/start", 200, count_id=count.id)
    assert is_enum(started.status, "in_progress")
    claimed = c.call("POST", "/api/v1/count-areas/claim", 200,
                     body=c.body("POST", "/api/v1/count-areas/claim").from_dict({"barcode": areas[0].barcode}))
    assert (claimed.holder_email, is_enum(claimed.status, "assigned")) == (c.admin.email, True)
    scan_uuid = "7d1b6a40-5f0e-4a8e-9b1c-2a4f7c9e0b11"
    body = c.body("POST", "/api/v1/count-sync").from_dict({"device_id": "phone-1", "pending": 0, "scans": [
        {"uuid": scan_uuid, "area_id": claimed.id, "code": "4006381333931", "quantity": "9"},
        {"uuid": scan_uuid, "area_id": claimed.id, "code": "4006381333931", "quantity": "9"}]})
    synced = c.call("POST", "/api/v1/count-sync", 200, body=body)
    assert [r.outcome.value for r in synced.results] == ["accepted", "duplicate"]
    assert (synced.device.device_id, synced.device.scans_synced) == ("phone-1", 1)
    area = c.call("GET", "/api/v1/count-areas/{area_id}", 200, area_id=claimed.id)
    assert [(line.item_id, line.counted, line.expected) for line in area.lines] == [(item.pk, "9.000", "10.000")]


@calls("alerts")
def a_low_stock_alert_is_acknowledged(c: Caller):
    from stocktrace.inventory.services.catalog import item_create, location_create
    from stocktrace.inventory.services.ledger import stock_receive

    actor = c.world.alpha.actor()
    bolts = item_create(actor=actor, sku="BOLT", name="Bolts", min_level="5")
    stock_receive(actor=actor, item=bolts, location=location_create(actor=actor, site=c.world.alpha.sites[0],
                                                                     code="A-1"), quantity_received="3")
    page = c.call("GET", "/api/v1/alerts", 200, status="open")
    assert len(page.items) == 1
    alert = page.items[0]
    assert is_enum(alert.kind, "low_stock") and is_enum(alert.status, "open") and isinstance(alert.severity, Enum)
    assert (alert.sku, alert.quantity, alert.threshold, alert.acknowledged_by) == ("BOLT", "3.000", "5.000", None)
    acknowledged = c.call("POST", "/api/v1/alerts/{alert_id}/acknowledge", 200, alert_id=alert.id)
    assert is_enum(acknowledged.status, "acknowledged")
    assert acknowledged.acknowledged_by == c.admin.email


@calls("webhooks")
def create_a_webhook_source(c: Caller):
    catalogue = c.call("GET", "/api/v1/webhooks/catalogue", 200)
    assert "item.upsert" in catalogue.handlers.additional_properties
    body = c.body("POST", "/api/v1/webhooks/sources").from_dict({"name": "ERP", "handler": "item.upsert"})
    source = c.call("POST", "/api/v1/webhooks/sources", 201, body=body)
    assert (source.name, source.slug, source.handler, source.url_path) == ("ERP", "erp", "item.upsert",
                                                                           "/hooks/alpha/erp")
    assert (source.is_active, source.rate_limit_per_minute, source.previous_secret_valid_until) == (True, 100, None)
    assert len(source.secret) >= 32


CSV = "sku,name\nBOLT-1,Bolts\n"


def _check_upload(c: Caller, run, filename: str) -> None:
    assert is_enum(run.kind, "items") and is_enum(run.format_, "csv") and is_enum(run.status, "uploaded")
    assert (run.filename, run.size_bytes, run.dry_run, run.rows_total, run.created_by_email) == \
        (filename, len(CSV), True, 0, c.admin.email)
    assert run.task_id is not None and run.result.additional_properties == {}


@calls("imports")
def list_the_imports(c: Caller):
    from stocktrace.imports.services import import_upload

    run = import_upload(actor=c.world.alpha.actor(), kind="items", filename="items.csv", chunks=[CSV.encode()])
    page = c.call("GET", "/api/v1/imports", 200, kind="items")
    assert [r.id for r in page.items] == [run.id]
    _check_upload(c, page.items[0], "items.csv")


@calls("imports")
def import_csv_text_as_json(c: Caller):
    body = c.body("POST", "/api/v1/imports/text").from_dict({"kind": "items", "content": CSV})
    _check_upload(c, c.call("POST", "/api/v1/imports/text", 202, body=body), "import.csv")


@calls("imports")
def import_a_file_as_multipart(c: Caller):
    """The way docs/imports.md uploads: a file in multipart/form-data, dry_run left at its default (true)."""
    files_body = c.body("POST", "/api/v1/imports", multipart=True)
    kind = typing.get_type_hints(files_body)["kind"]
    file = c.package.types.File(payload=io.BytesIO(CSV.encode()), file_name="items.csv", mime_type="text/csv")
    run = c.call("POST", "/api/v1/imports", 202, body=files_body(kind=kind("items"), file=file))
    _check_upload(c, run, "items.csv")


@pytest.fixture
def world(transactional_db):
    """Committed, so the live server's thread sees it."""
    return make_world()


@pytest.mark.parametrize(("tag", "check"), CALLS, ids=[f"{tag}-{check.__name__}" for tag, check in CALLS])
def test_the_generated_client_round_trips(generated, live_server, world, tag, check):
    _, token = token_create(actor=world.alpha.actor(Role.ADMIN), name="client test")
    caller = Caller(generated, live_server.url, token, world)
    try:
        check(caller)
    finally:
        caller.close()


def test_the_documented_example_works(generated, live_server, world):
    """The example of docs/api.md "Generating a client", as an integrator would copy it."""
    from stocktrace.tenancy.models import Site

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = text.split("## Generating a client", 1)[1]
    assert f"--output-path {PACKAGE}" in section.split("```python", 1)[0]
    example = section.split("```python", 1)[1].split("```", 1)[0]
    _, token = token_create(actor=world.alpha.actor(Role.ADMIN), name="docs example")
    namespace = {"__name__": "example", "ST": live_server.url, "TOKEN": token}
    try:
        exec(compile(example, "docs/api.md", "exec"), namespace)  # noqa: S102  (our own documentation)
    finally:
        if "client" in namespace:
            namespace["client"].get_httpx_client().close()
    site = Site.objects.get(organization=world.alpha.organization, code="WH-EAST")
    assert (namespace["site"].id, namespace["site"].name) == (site.pk, "East warehouse")
