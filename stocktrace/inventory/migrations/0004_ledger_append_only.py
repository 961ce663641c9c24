from django.db import migrations

# The ledger is the stock's history: a posting is corrected by another posting, never by editing one. As for
# the audit log, the database refuses UPDATE; DELETE is refused by the ORM only, since emptying tables
# (a test's flush, removing a whole organization) deletes rows.
SQLITE_UP = [
    "CREATE TRIGGER inventory_stockmovement_no_update BEFORE UPDATE ON inventory_stockmovement"
    " BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;",
]
POSTGRES_UP = [
    "CREATE FUNCTION inventory_stockmovement_refuse_change() RETURNS trigger AS $$"
    " BEGIN RAISE EXCEPTION 'the stock ledger is append-only'; END; $$ LANGUAGE plpgsql;",
    "CREATE TRIGGER inventory_stockmovement_append_only BEFORE UPDATE ON inventory_stockmovement"
    " FOR EACH ROW EXECUTE FUNCTION inventory_stockmovement_refuse_change();",
]
DOWN = {
    "sqlite": ["DROP TRIGGER IF EXISTS inventory_stockmovement_no_update;"],
    "postgresql": ["DROP TRIGGER IF EXISTS inventory_stockmovement_append_only ON inventory_stockmovement;",
                   "DROP FUNCTION IF EXISTS inventory_stockmovement_refuse_change();"],
}


def forward(apps, schema_editor):
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    for statement in DOWN.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_alert_resolution")]
    operations = [migrations.RunPython(forward, backward)]
