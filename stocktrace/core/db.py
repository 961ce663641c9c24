"""Hot-path statements on PostgreSQL, sent by psycopg with server-side binding on Django's own connection.

For the few statements that run once per job or per pushed webhook, Django's cursor wrapper, its client-side
parameter interpolation and its per-request `SELECT 1` health check cost more than the statement itself.
Everything else goes through the ORM. Statements sent here join the caller's transaction, if any, and are
prepared on the server at first use (planning a statement costs about as much as running these).
"""

import time
from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
import psycopg.sql
from django.conf import settings
from django.db import OperationalError, connection, models

_M = TypeVar("_M", bound=models.Model)


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    raw = connection.connection
    cursor = getattr(connection, "hot_path_cursor", None)  # one per thread, as Django's connections are
    if cursor is None or cursor.connection is not raw:
        # Django turns psycopg's prepared statements off (for connection poolers); its own queries are
        # interpolated client-side and never prepared anyway. Ours are, unless STOCKTRACE_DB_PREPARE is off.
        if settings.STOCKTRACE_DB_PREPARE and raw.prepare_threshold is None:
            raw.prepare_threshold = 5
        cursor = connection.hot_path_cursor = psycopg.Cursor(raw)  # type: ignore[attr-defined]  # ours, per connection
    return cursor


def _run(sql: str, params: Sequence[Any] | dict[str, Any]) -> psycopg.Cursor:
    cursor = _cursor()
    if not connection.queries_logged:
        cursor.execute(sql, params, prepare=settings.STOCKTRACE_DB_PREPARE or None)
        return cursor
    # Logged like Django's own queries when it logs them (DEBUG, and the tests that count queries).
    started = time.monotonic()
    try:
        cursor.execute(sql, params, prepare=settings.STOCKTRACE_DB_PREPARE or None)
    finally:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return cursor


def pg_execute(sql: str, params: Sequence[Any] | dict[str, Any], *, idempotent: bool = False) -> psycopg.Cursor:
    """Run one statement; errors are raised as Django's (OperationalError, IntegrityError, …).

    Instead of Django's health check before the statement (a round trip on every request), an `idempotent`
    statement (a read, or a write that is safe to send twice) that finds the connection dead (the server
    restarted, an idle connection was cut) is sent once more on a new connection, outside a transaction only.
    Statements inside a transaction cannot be resent; the request fails as it would with Django's check."""
    try:
        with connection.wrap_database_errors:
            return _run(sql, params)
    except OperationalError:
        if not idempotent or connection.in_atomic_block or connection.is_usable():
            raise
    connection.close()
    with connection.wrap_database_errors:
        return _run(sql, params)


def select_list(model: type[models.Model], alias: str) -> str:
    """`alias.column, …` for every concrete field of `model`, in the order `hydrated` expects."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def hydrated(model: type[_M], values: Sequence[Any]) -> _M:
    """A model instance from the columns of `select_list`, as psycopg returned them (converted as the ORM
    would: JSON text parsed, and so on)."""
    converted = [field.from_db_value(value, None, connection) if value is not None and hasattr(field, "from_db_value")
                 else value for field, value in zip(model._meta.concrete_fields, values, strict=True)]
    # field_names None means every concrete field in order, which Django accepts; the stubs require names.
    return model.from_db(connection.alias, None, converted)  # type: ignore[arg-type]


def insert_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert many new rows given as {attname: value} (every row with the same keys, auto_now values
    included), for the bulk entry points of the services. On PostgreSQL through COPY (inside the caller's
    transaction, like any other statement): no model instance and no SQL text to build per row, which is
    where bulk_create spends most of its time on a big import. Elsewhere through bulk_create. Either way the
    rows are plain column values: no signal, no save(), exactly as bulk_create would write them."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows])
        return
    columns = {f.attname: f.column for f in model._meta.concrete_fields}
    names = list(rows[0])
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg.sql.Identifier(model._meta.db_table),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(columns[n]) for n in names))
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[n] for n in names])
