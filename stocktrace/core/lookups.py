"""`field__any=values`: the `__in` of long lists. On PostgreSQL it is `field = ANY(%s)` with the values sent as
one array parameter; elsewhere it is exactly `__in`.

Imports look up thousands of keys per batch (SKUs, barcodes, codes). With `__in`, Django compiles a
placeholder per value and psycopg parses the resulting statement, thousands of placeholders long, again for
every batch: that costs more than the lookup itself."""

from typing import TYPE_CHECKING, Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.expressions import ColPairs  # type: ignore[attr-defined]  # new in Django 5.2, not in the stubs
from django.db.models.fields.related import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler

# The mixin is only ever combined with `In`, whose methods it uses.
if TYPE_CHECKING:
    _Base = In
else:
    _Base = object


class _OneArray(_Base):
    lookup_name = "any"

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        if not self.rhs_is_direct_value() or isinstance(self.lhs, ColPairs):  # a subquery, several columns
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs
                  if value is not None]  # NULL never equals anything, as with `__in`
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


@Field.register_lookup
class AnyOf(_OneArray, In):
    pass


@ForeignObject.register_lookup
class RelatedAnyOf(_OneArray, RelatedIn):
    """The same on a foreign key (`item_id__any=…`), which has lookups of its own."""
