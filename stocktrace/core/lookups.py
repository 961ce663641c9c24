"""`field__any=values`: the `__in` of long lists. On PostgreSQL it is `field = ANY(%s)` with the values sent as
one array parameter; elsewhere it is exactly `__in`.

Imports look up thousands of keys per batch (SKUs, barcodes, codes). With `__in`, Django compiles a
placeholder per value and psycopg parses the resulting statement, thousands of placeholders long, again for
every batch: that costs more than the lookup itself."""

from django.db.models import Field
from django.db.models.expressions import ColPairs
from django.db.models.fields.related import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


class _OneArray:
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
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
