"""What a big import's transaction needs from PostgreSQL: fresh planner statistics for the tables it fills,
and index lookups for its batches. The rows themselves are written by the inventory's bulk entry points
(the catalog's and the ledger's), through `stocktrace.core.db.insert_rows`."""

from contextlib import contextmanager

from django.db import connection, transaction
from psycopg import sql


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
