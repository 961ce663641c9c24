from typing import Any, ClassVar, NoReturn, TypedDict

from django.conf import settings
from django.db import models

from stocktrace.inventory.barcodes import scan_key
from stocktrace.tenancy.models import Site, TenantOwned, TenantQuerySet


class _DecimalOptions(TypedDict):
    max_digits: int
    decimal_places: int


QUANTITY: _DecimalOptions = {"max_digits": 18, "decimal_places": 3}
MONEY: _DecimalOptions = {"max_digits": 18, "decimal_places": 4}


class LocationKind(models.TextChoices):
    ZONE = "zone"
    AISLE = "aisle"
    RACK = "rack"
    BIN = "bin"
    OTHER = "other"


class Location(TenantOwned):
    """A place in a site where stock lies: zones hold aisles, aisles racks, racks bins — any depth."""

    Kind = LocationKind

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="locations")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BIN)
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=150, blank=True)
    barcode = models.CharField(max_length=64)
    # "/12/40/311/": the ids from the root down, so a subtree is one indexed prefix query.
    path = models.CharField(max_length=1024, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "barcode"], name="uniq_location_barcode"),
            models.UniqueConstraint(fields=["site", "code"], name="uniq_location_code_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.code}"


class Item(TenantOwned):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=16, default="ea")
    unit_cost = models.DecimalField(**MONEY, default=0)
    min_level = models.DecimalField(**QUANTITY, null=True, blank=True)
    max_level = models.DecimalField(**QUANTITY, null=True, blank=True)
    tracks_lots = models.BooleanField(default=False)
    tracks_expiry = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Not a column: the item's codes, set when a scan lookup loads them with the item (selectors.item_by_code).
    barcode_codes: list[str]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="uniq_item_sku"),
            models.CheckConstraint(condition=models.Q(unit_cost__gte=0), name="item_cost_not_negative"),
            models.CheckConstraint(
                condition=models.Q(min_level__isnull=True) | models.Q(max_level__isnull=True)
                | models.Q(min_level__lte=models.F("max_level")),
                name="item_min_not_above_max"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class ScanKeyField(models.CharField):  # type: ignore[type-arg]  # generic in the stubs only, not at runtime
    """`scan_key(code)`, set whenever the row is written: by save() and by bulk_create alike."""

    def pre_save(self, model_instance: Any, add: bool) -> str:  # any model with a `code`
        value = scan_key(model_instance.code)
        setattr(model_instance, self.attname, value)
        return value


class BarcodeKind(models.TextChoices):
    EAN8 = "ean8"
    EAN13 = "ean13"
    UPCA = "upca"
    GTIN14 = "gtin14"
    INTERNAL = "internal"


class ItemBarcode(TenantOwned):
    Kind = BarcodeKind

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="barcodes")
    code = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # One GTIN is one barcode whichever of its forms was given (036000291452 = 0036000291452).
    scan_key = ScanKeyField(max_length=64, editable=False)

    class Meta:
        # The unique index is also the one-lookup path from a scanned code to its item.
        constraints = [models.UniqueConstraint(fields=["organization", "scan_key"], name="uniq_item_barcode_key")]

    def __str__(self) -> str:
        return self.code


class OnHand(TenantOwned):
    """What lies where now: kept equal to the sum of the ledger in the same transaction as each movement."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="on_hand")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="on_hand")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=64, blank=True, default="")
    expires_on = models.DateField(null=True, blank=True)
    quantity = models.DecimalField(**QUANTITY, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "location", "lot"], name="uniq_on_hand")]
        indexes = [
            models.Index(fields=["organization", "site", "item"], name="onhand_site_item_idx"),
            models.Index(fields=["organization", "item"], name="onhand_item_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.location_id} {self.lot}: {self.quantity}"


class LedgerQuerySet(TenantQuerySet["StockMovement"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("The stock ledger is append-only: post a correcting movement")

    def delete(self) -> NoReturn:
        raise TypeError("The stock ledger is append-only: post a correcting movement")


class MovementKind(models.TextChoices):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    COUNT_CORRECTION = "count_correction"


class StockMovement(TenantOwned):
    """One line of the append-only ledger. A transfer is two lines sharing a `group`. Never updated or deleted
    (the ORM refuses both, a database trigger refuses UPDATE, see migration 0004): another movement corrects
    a mistake."""

    Kind = MovementKind

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=64, blank=True, default="")
    expires_on = models.DateField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    quantity = models.DecimalField(**QUANTITY)
    unit_cost = models.DecimalField(**MONEY, default=0)
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    group = models.UUIDField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects: ClassVar = LedgerQuerySet.as_manager()

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(quantity=0), name="movement_not_zero")]
        indexes = [
            models.Index(fields=["organization", "item", "location", "lot"], name="movement_balance_idx"),
            models.Index(fields=["organization", "item", "id"], name="movement_item_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of {self.item_id} at {self.location_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The stock ledger is append-only: post a correcting movement")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("The stock ledger is append-only: post a correcting movement")


class AlertKind(models.TextChoices):
    LOW_STOCK = "low_stock"
    STOCKOUT = "stockout"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    EXCESS = "excess"
    DISCREPANCY = "discrepancy"


class AlertSeverity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class StockAlert(TenantOwned):
    Kind = AlertKind
    Severity = AlertSeverity
    Status = AlertStatus

    kind = models.CharField(max_length=12, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="alerts")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    # Level alerts (low stock, stockout, excess) are per item and site; lot alerts (expiry) per location.
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=64, blank=True, default="")
    message = models.CharField(max_length=300)
    quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    threshold = models.DecimalField(**QUANTITY, null=True, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    # Why it was resolved when stocktrace resolved it (resolved_by empty): the stock recovered, the lot is gone.
    resolution = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            # De-duplication: one unresolved alert per kind × item × site (level alerts, no location), and per
            # kind × item × location × lot (lot alerts). Two partial indexes, since NULLs never collide.
            models.UniqueConstraint(
                fields=["organization", "kind", "item", "site"],
                condition=~models.Q(status="resolved") & models.Q(location__isnull=True), name="uniq_open_level_alert"),
            models.UniqueConstraint(
                fields=["organization", "kind", "item", "location", "lot"],
                condition=~models.Q(status="resolved") & models.Q(location__isnull=False), name="uniq_open_lot_alert"),
        ]
        indexes = [models.Index(fields=["organization", "status", "severity"], name="alert_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_id}"
