"""Barcodes are matched on their scan key: the GTIN-14 of a 12–14-digit GS1 code, else the code itself.

Existing barcodes get theirs. Two forms of one GTIN on the same item become one barcode (the first added
stays). On two different items they are a conflict only a person can settle: the migration stops and lists
them; remove one of each pair (the item's page, or DELETE /api/v1/items/{id}/barcodes/{code}) and migrate
again."""

import re

from django.db import migrations, models

import stocktrace.inventory.models


def _check_digit(body: str) -> int:
    from_right = body[::-1]
    total = 3 * sum(map(int, from_right[0::2])) + sum(map(int, from_right[1::2]))
    return (10 - total % 10) % 10


def _scan_key(code: str) -> str:
    # A copy of stocktrace.inventory.barcodes.scan_key as it was when this migration was written.
    if re.fullmatch(r"[0-9]{12,14}", code) and _check_digit(code[:-1]) == int(code[-1]):
        return code.zfill(14)
    return code


def fill_scan_keys(apps, schema_editor):
    ItemBarcode = apps.get_model("inventory", "ItemBarcode")
    first: dict[tuple[int, str], tuple[int, str, int]] = {}
    merged, clashes, keyed = [], [], []
    for pk, organization_id, item_id, code in (ItemBarcode.objects.order_by("pk")
                                               .values_list("pk", "organization_id", "item_id", "code")
                                               .iterator(chunk_size=5000)):
        key = _scan_key(code)
        seen = first.setdefault((organization_id, key), (item_id, code, pk))
        if seen[2] == pk:
            keyed.append(ItemBarcode(pk=pk, scan_key=key))
        elif seen[0] == item_id:
            merged.append(pk)
        else:
            clashes.append(f"{seen[1]} (item id {seen[0]}) and {code} (item id {item_id}), "
                           f"organization id {organization_id}")
    if clashes:
        raise RuntimeError("These barcodes are one GTIN on two items; remove one of each pair, then migrate "
                           "again:\n  " + "\n  ".join(clashes))
    ItemBarcode.objects.filter(pk__in=merged).delete()
    ItemBarcode.objects.bulk_update(keyed, ["scan_key"], batch_size=5000)


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0004_ledger_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="itembarcode",
            name="scan_key",
            field=stocktrace.inventory.models.ScanKeyField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_scan_keys, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="itembarcode",
            name="scan_key",
            field=stocktrace.inventory.models.ScanKeyField(editable=False, max_length=64),
        ),
        migrations.RemoveConstraint(
            model_name="itembarcode",
            name="uniq_item_barcode",
        ),
        migrations.AddConstraint(
            model_name="itembarcode",
            constraint=models.UniqueConstraint(fields=("organization", "scan_key"), name="uniq_item_barcode_key"),
        ),
    ]
