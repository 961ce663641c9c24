"""The raw floor under the lookup and webhook benchmarks: the same work as stocktrace's endpoints, in a bare
WSGI application with psycopg and no framework, served by granian with the same processes and threads.

    RAW_DATABASE_URL=postgres://… granian --interface wsgi --workers 2 --blocking-threads 4 _raw_wsgi:app

- GET /healthz: 200, nothing else (the server's own floor).
- GET /lookup/<code> with `Authorization: Bearer st_<prefix>_<secret>`: the token checked as stocktrace
  checks it (hash, revoked, expiry, member, user and organization active), then the item with its barcodes
  in the token's organization; 200 with the item as JSON, 401 or 404.
- POST /hooks/<organization>/<source>: the signature and timestamp verified (stocktrace's scheme), the
  delivery id and UTF-8 JSON body checked, one count in a per-source file counter under an exclusive lock
  (as stocktrace's rate limit without Redis), then the delivery and its job stored by the same one-statement
  CTE stocktrace sends; 202 with the delivery's id.
- POST /counts/areas/<id>/scans with the same token: the token checked (as for the lookup, and the member's role
  one that scans), a uuid sent before answered with its first scan, then in one transaction the area locked with
  its session (in progress, area assigned or counting, held by this member), the code's item by its scan key,
  the scan inserted idempotently (ON CONFLICT on the uuid constraint DO NOTHING) and the area marked counting;
  201 with the scan as JSON (bench/counts.py).

Each thread keeps one autocommit connection with its statements prepared on the server. Not part of the
product: it exists so the benchmarks can say how much of a gap is the framework's.
"""

import fcntl
import functools
import hashlib
import hmac
import json
import os
import tempfile
import threading
import time
import uuid

import psycopg

from stocktrace.inventory.barcodes import scan_key  # plain Python: no Django in this app

DSN = os.environ.get("RAW_DATABASE_URL", "")
_local = threading.local()
_sources: dict[tuple[str, str], tuple[int, int, str]] = {}

TOKEN_SQL = """
    SELECT t.secret_hash, t.revoked_at, t.expires_at, m.organization_id, m.is_active, u.is_active, o.is_active
    FROM accounts_apitoken t JOIN tenancy_membership m ON m.id = t.membership_id
    JOIN accounts_user u ON u.id = m.user_id JOIN tenancy_organization o ON o.id = m.organization_id
    WHERE t.prefix = %s"""
ITEM_SQL = """
    SELECT i.id, i.sku, i.name, i.unit, i.unit_cost, i.min_level, i.max_level, i.tracks_lots, i.tracks_expiry,
           i.archived_at, array(SELECT c.code FROM inventory_itembarcode c WHERE c.item_id = i.id ORDER BY c.id)
    FROM inventory_itembarcode b JOIN inventory_item i ON i.id = b.item_id
    WHERE b.organization_id = %s AND b.scan_key = %s"""
SOURCE_SQL = """
    SELECT s.id, s.organization_id, s.secret FROM webhooks_webhooksource s
    JOIN tenancy_organization o ON o.id = s.organization_id
    WHERE o.slug = %s AND s.slug = %s AND s.is_active AND o.is_active"""
PUSH_SQL = """
    WITH delivery AS (
        INSERT INTO webhooks_inbounddelivery
            (organization_id, source_id, delivery_id, received_at, headers, body, status, attempts, error)
        VALUES (%(organization_id)s, %(source_id)s, %(delivery_id)s, %(now)s, %(headers)s::jsonb, %(body)s,
                'received', 0, '')
        ON CONFLICT ON CONSTRAINT uniq_inbound_delivery DO NOTHING
        RETURNING id, organization_id)
    INSERT INTO django_tasks_database_dbtaskresult
        (id, status, args_kwargs, priority, task_path, queue_name, backend_name, run_after, enqueued_at,
         exception_class_path, traceback, worker_ids)
    SELECT %(job_id)s::uuid, 'READY', jsonb_build_object('args', '[]'::jsonb, 'kwargs', jsonb_build_object(
               'delivery_id', delivery.id, 'organization_id', delivery.organization_id)),
           0, 'stocktrace.webhooks.tasks.process_inbound_delivery', 'webhooks', 'default',
           '9999-01-01 00:00:00+00:00'::timestamptz, %(now)s::timestamptz, '', '', '[]'::jsonb
    FROM delivery
    RETURNING (args_kwargs -> 'kwargs' ->> 'delivery_id')::bigint"""


COUNT_TOKEN_SQL = """
    SELECT t.secret_hash, t.revoked_at, t.expires_at, m.organization_id, m.id, m.role, u.email,
           m.is_active, u.is_active, o.is_active
    FROM accounts_apitoken t JOIN tenancy_membership m ON m.id = t.membership_id
    JOIN accounts_user u ON u.id = m.user_id JOIN tenancy_organization o ON o.id = m.organization_id
    WHERE t.prefix = %s"""
COUNT_EXISTING_SQL = "SELECT id, area_id FROM counts_countscan WHERE organization_id = %s AND uuid = %s"
COUNT_AREA_SQL = """
    SELECT a.status, a.holder_id, a.round, a.location_id, a.session_id, s.status, s.mode
    FROM counts_countarea a JOIN counts_countsession s ON s.id = a.session_id
    WHERE a.id = %s AND a.organization_id = %s FOR UPDATE OF a"""
COUNT_ITEM_SQL = "SELECT item_id FROM inventory_itembarcode WHERE organization_id = %s AND scan_key = %s"
COUNT_INSERT_SQL = """
    INSERT INTO counts_countscan (organization_id, uuid, session_id, area_id, round, kind, undoes_id, code, item_id,
                                  location_id, lot, quantity, counter_id, device_id, scanned_at, received_at, batch)
    VALUES (%s, %s, %s, %s, %s, 'scan', NULL, %s, %s, %s, '', %s, %s, %s, now(), now(), NULL)
    ON CONFLICT ON CONSTRAINT uniq_count_scan_uuid DO NOTHING
    RETURNING id, scanned_at"""
COUNT_STARTED_SQL = ("UPDATE counts_countarea SET status = 'counting', changed_at = now() "
                     "WHERE id = %s AND status = 'assigned'")
SCANNING_ROLES = ("admin", "supervisor", "counter")


def _db() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(DSN, autocommit=True, prepare_threshold=0)
    return conn


def _answer(start_response, status: str, payload: dict) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _lookup(environ, start_response, code: str):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    prefix, _, secret = auth.removeprefix("Bearer st_").partition("_")
    row = _db().execute(TOKEN_SQL, (prefix,)).fetchone()
    if (row is None or not hmac.compare_digest(row[0], hashlib.sha256(secret.encode()).hexdigest())
            or row[1] is not None or (row[2] is not None and row[2].timestamp() <= time.time()) or not all(row[4:])):
        return _answer(start_response, "401 Unauthorized", {"title": "Unauthorized"})
    item = _db().execute(ITEM_SQL, (row[3], scan_key(code))).fetchone()  # any form of a GTIN, as stocktrace
    if item is None:
        return _answer(start_response, "404 Not Found", {"title": "Not found"})
    keys = ("id", "sku", "name", "unit", "unit_cost", "min_level", "max_level", "tracks_lots", "tracks_expiry",
            "archived_at", "barcodes")
    out = {k: (str(v) if k in ("unit_cost", "min_level", "max_level") and v is not None else v)
           for k, v in zip(keys, item, strict=True)}
    out["archived_at"] = out["archived_at"] and out["archived_at"].isoformat()
    return _answer(start_response, "200 OK", {"item": out, "location": None})


@functools.cache
def _counter_dir() -> str:
    return tempfile.mkdtemp(prefix="raw-wsgi-ratelimit-")


def _count(key: str) -> int:
    window = int(time.time() // 60)
    fd = os.open(os.path.join(_counter_dir(), hashlib.sha256(key.encode()).hexdigest()[:32]), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        stored, count = (int(p) for p in (os.pread(fd, 64, 0).decode() or "0 0").split())
        count = count + 1 if stored == window else 1
        os.pwrite(fd, f"{window} {count}".ljust(40).encode(), 0)
        return count
    finally:
        os.close(fd)


def _push(environ, start_response, organization: str, source_slug: str):
    source = _sources.get((organization, source_slug))
    if source is None:
        source = _db().execute(SOURCE_SQL, (organization, source_slug)).fetchone()
        _sources[(organization, source_slug)] = source
    source_id, organization_id, secret = source
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    timestamp = environ.get("HTTP_X_STOCKTRACE_TIMESTAMP", "")
    signature = environ.get("HTTP_X_STOCKTRACE_SIGNATURE", "")
    delivery_id = environ.get("HTTP_X_STOCKTRACE_DELIVERY", "").strip()
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if abs(time.time() - int(timestamp)) > 300 or not hmac.compare_digest(expected, signature):
        return _answer(start_response, "401 Unauthorized", {"title": "Unauthorized"})
    if not 0 < len(delivery_id) <= 100:
        return _answer(start_response, "422 Unprocessable Entity", {"title": "Invalid input"})
    text = body.decode("utf-8")
    json.loads(text)
    if _count(f"webhook-source:{source_id}") > 100_000:
        return _answer(start_response, "429 Too Many Requests", {"title": "Too many requests"})
    headers = {"content-type": environ.get("CONTENT_TYPE", ""), "x-stocktrace-delivery": delivery_id,
               "x-stocktrace-timestamp": timestamp, "x-stocktrace-signature": signature}
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    row = _db().execute(PUSH_SQL, {"organization_id": organization_id, "source_id": source_id,
                                   "delivery_id": delivery_id, "now": now, "headers": json.dumps(headers),
                                   "body": text, "job_id": uuid.uuid4()}).fetchone()
    return _answer(start_response, "202 Accepted", {"delivery": row and row[0], "status": "received",
                                                    "duplicate": row is None})


def _scan(environ, start_response, area_id: int):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    prefix, _, secret = auth.removeprefix("Bearer st_").partition("_")
    db = _db()
    token = db.execute(COUNT_TOKEN_SQL, (prefix,)).fetchone()
    if (token is None or not hmac.compare_digest(token[0], hashlib.sha256(secret.encode()).hexdigest())
            or token[1] is not None or (token[2] is not None and token[2].timestamp() <= time.time())
            or not all(token[7:])):
        return _answer(start_response, "401 Unauthorized", {"title": "Unauthorized"})
    organization_id, membership_id, role, email = token[3], token[4], token[5], token[6]
    if role not in SCANNING_ROLES:
        return _answer(start_response, "403 Forbidden", {"title": "Forbidden"})
    try:
        payload = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        scan_uuid, code = uuid.UUID(payload["uuid"]), str(payload["code"]).strip()
        quantity = str(payload.get("quantity", "1"))
        device_id = str(payload.get("device_id", ""))[:100]
    except (ValueError, KeyError, TypeError):
        return _answer(start_response, "422 Unprocessable Entity", {"title": "Invalid input"})
    existing = db.execute(COUNT_EXISTING_SQL, (organization_id, scan_uuid)).fetchone()
    if existing is not None:
        return _answer(start_response, "201 Created", {"id": existing[0], "uuid": str(scan_uuid),
                                                       "outcome": "duplicate", "area_id": existing[1]})
    with db.transaction():
        area = db.execute(COUNT_AREA_SQL, (area_id, organization_id)).fetchone()
        if area is None:
            return _answer(start_response, "404 Not Found", {"title": "Not found"})
        status, holder_id, round_no, location_id, session_id, session_status, mode = area
        if session_status != "in_progress" or status not in ("assigned", "counting") or (
                mode != "team" and holder_id != membership_id):
            return _answer(start_response, "409 Conflict", {"title": "Conflict"})
        item = db.execute(COUNT_ITEM_SQL, (organization_id, scan_key(code))).fetchone()
        if item is None:  # stocktrace keeps it as an exception; the benchmark sends known codes only
            return _answer(start_response, "422 Unprocessable Entity", {"title": "Unknown code"})
        row = db.execute(COUNT_INSERT_SQL, (organization_id, scan_uuid, session_id, area_id, round_no, code, item[0],
                                            location_id, quantity, membership_id, device_id)).fetchone()
        if row is None:  # another connection wrote the same uuid first
            outcome, row = "duplicate", db.execute(COUNT_EXISTING_SQL, (organization_id, scan_uuid)).fetchone()
        else:
            outcome = "accepted"
            if status == "assigned":
                db.execute(COUNT_STARTED_SQL, (area_id,))
    return _answer(start_response, "201 Created", {
        "id": row[0], "uuid": str(scan_uuid), "outcome": outcome, "area_id": area_id, "round": round_no,
        "kind": "scan", "code": code, "item_id": item[0], "location_id": location_id, "lot": "",
        "quantity": quantity, "counter_email": email, "device_id": device_id,
        "scanned_at": row[1].isoformat() if outcome == "accepted" else None, "exception_id": None})


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    if path.startswith("/lookup/"):
        return _lookup(environ, start_response, path.removeprefix("/lookup/"))
    if path.startswith("/hooks/") and environ.get("REQUEST_METHOD") == "POST":
        _, _, organization, source_slug = path.split("/", 3)
        return _push(environ, start_response, organization, source_slug)
    if path.startswith("/counts/areas/") and path.endswith("/scans") and environ.get("REQUEST_METHOD") == "POST":
        return _scan(environ, start_response, int(path.split("/")[3]))
    return _answer(start_response, "404 Not Found", {"title": "Not found"})
