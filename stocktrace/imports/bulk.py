"""Inserting the new rows of a batch. On PostgreSQL through COPY (inside the import's transaction, like any
other statement): no model instance and no SQL text to build per row, which is where bulk_create spends
most of its time on a big import. Elsewhere through bulk_create. Either way the rows are plain column
values: no signal, no save(), exactly as bulk_create would write them."""

from contextlib import contextmanager

from django.db import connection, transaction
from psycopg import sql


def insert_rows(model, rows: list[dict]) -> None:
    """Insert rows given as {attname: value} (every row with the same keys, auto_now values included)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows])
        return
    columns = {f.attname: f.column for f in model._meta.concrete_fields}
    names = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(columns[n]) for n in names))
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[n] for n in names])


def refresh_statistics(models) -> None:
    """ANALYZE the tables an import is filling. Autovacuum cannot see rows of a transaction still open, so
    without this the planner keeps the statistics of the tables as they were (often empty) and plans the
    batch lookups as scans of every row the import wrote so far: quadratic time. PostgreSQL only (SQLite
    plans equality lookups on an index without statistics)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(model._meta.db_table)))


@contextmanager
def index_lookups():
    """Around a batch's lookups (by SKU, barcode, code: all unique keys): tell PostgreSQL to prefer its
    indexes. The planner expects every one of a batch's 2,000 keys to match and, on a table of a few hundred
    thousand rows, finds scanning it all cheaper; the keys of an import are mostly new, so that scan runs
    once per batch for nothing and the import slows down as the table grows. In a transaction (or a savepoint
    of the import's), so the setting ends with it."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        yield
