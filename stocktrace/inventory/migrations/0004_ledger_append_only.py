from django.db import migrations

# The ledger is the stock's history: a posting is corrected by another posting, never by editing one.
SQLITE_UP = """
CREATE TRIGGER inventory_stockmovement_no_update BEFORE UPDATE ON inventory_stockmovement
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;
CREATE TRIGGER inventory_stockmovement_no_delete BEFORE DELETE ON inventory_stockmovement
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;
"""
POSTGRES_UP = """
CREATE FUNCTION inventory_stockmovement_refuse_change() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the stock ledger is append-only'; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER inventory_stockmovement_append_only BEFORE UPDATE OR DELETE ON inventory_stockmovement
FOR EACH ROW EXECUTE FUNCTION inventory_stockmovement_refuse_change();
"""
DOWN = {
    "sqlite": "DROP TRIGGER IF EXISTS inventory_stockmovement_no_update;"
              " DROP TRIGGER IF EXISTS inventory_stockmovement_no_delete;",
    "postgresql": "DROP TRIGGER IF EXISTS inventory_stockmovement_append_only ON inventory_stockmovement;"
                  " DROP FUNCTION IF EXISTS inventory_stockmovement_refuse_change();",
}


def forward(apps, schema_editor):
    sql = {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    sql = DOWN.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_alert_resolution")]
    operations = [migrations.RunPython(forward, backward)]
