"""Counts: a session counts a site's stock area by area. Scans are append-only (an undo is a compensating scan);
what a session expected is a snapshot taken when it started."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from stocktrace.inventory.models import MONEY, QUANTITY, Item, Location
from stocktrace.tenancy.models import Membership, Site, TenantOwned


class CountKind(models.TextChoices):
    FULL = "full", "Full stocktake"
    CYCLE = "cycle", "Cycle count"
    SPOT = "spot", "Spot check"


class CountMode(models.TextChoices):
    BLIND = "blind", "Blind"
    VISIBLE = "visible", "Visible"
    DOUBLE_BLIND = "double_blind", "Double blind"
    TEAM = "team", "Team"


class SessionStatus(models.TextChoices):
    PLANNED = "planned", "planned"
    IN_PROGRESS = "in_progress", "in progress"
    COMPLETED = "completed", "completed"
    CANCELLED = "cancelled", "cancelled"


class AreaStatus(models.TextChoices):
    AVAILABLE = "available", "available"
    ASSIGNED = "assigned", "assigned"
    COUNTING = "counting", "counting"
    READY_FOR_APPROVAL = "ready_for_approval", "ready for approval"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


class ScanKind(models.TextChoices):
    SCAN = "scan"
    UNDO = "undo"


class ExceptionKind(models.TextChoices):
    UNKNOWN_CODE = "unknown_code", "Unknown code"
    LATE = "late", "Scanned offline before the area changed"


class ExceptionStatus(models.TextChoices):
    OPEN = "open"
    MAPPED = "mapped"
    DISMISSED = "dismissed"


class CountSettings(TenantOwned):
    """An organization's count settings; the row also serializes the numbering of area barcodes."""

    area_barcode_format = models.CharField(max_length=40, default="{DD}{MM}-{NNN}")
    # A submitted area with a line off by more than either is sent back for a recount (None: no limit).
    tolerance_percent = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    tolerance_value = models.DecimalField(**MONEY, null=True, blank=True)
    # Approve a submitted area by itself when every line is within the tolerances (and nothing moved).
    auto_approve = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="uniq_count_settings")]


class CountSession(TenantOwned):
    Kind = CountKind
    Mode = CountMode
    Status = SessionStatus

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=CountKind.choices, default=CountKind.FULL)
    mode = models.CharField(max_length=12, choices=CountMode.choices, default=CountMode.BLIND)
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.PLANNED)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cancel_reason = models.CharField(max_length=200, blank=True)
    # The ledger's last movement when the session started: later ones happened during the count.
    movement_mark = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # Two supervisors starting a count of one site at once: the database lets exactly one through.
            models.UniqueConstraint(fields=["site"], condition=Q(status="in_progress"),
                                    name="one_count_in_progress_per_site"),
            models.CheckConstraint(condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                                   name="count_cancel_has_reason"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status in (SessionStatus.PLANNED, SessionStatus.IN_PROGRESS)


class CountArea(TenantOwned):
    """A rack or bin of the session (and everything under it), counted by whoever holds it."""

    Status = AreaStatus

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="areas")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    barcode = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=AreaStatus.choices, default=AreaStatus.AVAILABLE)
    # Each recount is a new round; the scans of earlier rounds stay.
    round = models.PositiveSmallIntegerField(default=1)
    holder = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # When the status last changed: a scan captured offline before it is still taken (as an exception).
    changed_at = models.DateTimeField()
    reject_reason = models.CharField(max_length=200, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # True while the session is planned or in progress: barcodes are unique among open areas only.
    is_open = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "barcode"], condition=Q(is_open=True),
                                    name="uniq_open_count_area_barcode"),
            models.UniqueConstraint(fields=["session", "location"], name="uniq_count_area_location"),
        ]

    def __str__(self) -> str:
        return f"{self.barcode} ({self.location.code})"


class CountExpected(TenantOwned):
    """What the ledger held when the session started, per item × location × lot, and in which area."""

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="expected")
    area = models.ForeignKey(CountArea, on_delete=models.CASCADE, related_name="expected")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=64, blank=True, default="")
    quantity = models.DecimalField(**QUANTITY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "item", "location", "lot"],
                                               name="uniq_count_expected")]


class CountScan(TenantOwned):
    """One scan, or the undo of one (a compensating scan with the opposite quantity); never changed."""

    Kind = ScanKind

    # The client's id for the scan: sending it again changes nothing and answers the first result.
    uuid = models.UUIDField(default=uuid.uuid4)
    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="scans")
    area = models.ForeignKey(CountArea, on_delete=models.CASCADE, related_name="scans")
    round = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=ScanKind.choices, default=ScanKind.SCAN)
    undoes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")
    code = models.CharField(max_length=64)
    # None while the code is unknown (its exception says what became of it).
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=64, blank=True, default="")
    quantity = models.DecimalField(**QUANTITY)
    counter = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=100, blank=True)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # The sync request that brought it (None for a single scan): tells a batch's own rows from a retry's.
    batch = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "uuid"], name="uniq_count_scan_uuid")]
        indexes = [models.Index(fields=["area", "round"], name="count_scan_area_round_idx"),
                   models.Index(fields=["session", "counter"], name="count_scan_session_counter_idx")]


class CountException(TenantOwned):
    """A scan the counters could not place: an unknown code, or a scan captured offline into an area that has
    since changed. Kept for a supervisor, who maps it to an item or dismisses it; never dropped."""

    Kind = ExceptionKind
    Status = ExceptionStatus

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="exceptions")
    area = models.ForeignKey(CountArea, on_delete=models.CASCADE, related_name="exceptions")
    scan = models.OneToOneField(CountScan, on_delete=models.CASCADE, related_name="exception")
    kind = models.CharField(max_length=14, choices=ExceptionKind.choices)
    reason = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)


class DriftChoice(models.TextChoices):
    AS_COUNTED = "as_counted", "Counted as is"
    PLUS_MOVEMENTS = "plus_movements", "Counted plus the movements since the snapshot"


class CountDrift(TenantOwned):
    """Stock that moved in the ledger while an area was being counted, and what its approver chose: the count
    is what lies there now (as counted), or what lay there at the snapshot (plus the movements since)."""

    Choice = DriftChoice

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="drifts")
    area = models.ForeignKey(CountArea, on_delete=models.CASCADE, related_name="drifts")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=64, blank=True, default="")
    moved = models.DecimalField(**QUANTITY)
    choice = models.CharField(max_length=16, choices=DriftChoice.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "item", "location", "lot"], name="uniq_count_drift")]


class CountResultLine(TenantOwned):
    """The frozen report of a completed count: one line per item × location × lot counted or expected. Written
    once, at completion, with the correction it posted; never changed."""

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="result_lines")
    area_barcode = models.CharField(max_length=64)
    location_code = models.CharField(max_length=64)
    sku = models.CharField(max_length=64)
    item_name = models.CharField(max_length=200)
    lot = models.CharField(max_length=64, blank=True, default="")
    expected = models.DecimalField(**QUANTITY)
    counted = models.DecimalField(**QUANTITY)
    moved = models.DecimalField(**QUANTITY, default=0)
    choice = models.CharField(max_length=16, blank=True)
    posted = models.DecimalField(**QUANTITY, help_text="the count correction posted to the ledger")
    unit_cost = models.DecimalField(**MONEY)
    counted_by = models.CharField(max_length=500, blank=True)
    approved_by = models.CharField(max_length=254, blank=True)
    approved_at = models.DateTimeField(null=True)


class CountDevice(TenantOwned):
    """A scanning device as its last sync described it: the answer to "are scans stuck?"."""

    device_id = models.CharField(max_length=100)
    membership = models.ForeignKey(Membership, null=True, on_delete=models.SET_NULL, related_name="+")
    app_version = models.CharField(max_length=50, blank=True)
    last_sync_at = models.DateTimeField()
    # Scans the device says it still holds (queued offline), as it reported at its last sync.
    pending = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    scans_synced = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "device_id"], name="uniq_count_device")]
