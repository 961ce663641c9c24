from django.conf import settings
from django.db import models

from stocktrace.tenancy.models import TenantOwned


class ImportKind(models.TextChoices):
    ITEMS = "items"
    LOCATIONS = "locations"
    STOCK = "stock"


class ImportFormat(models.TextChoices):
    CSV = "csv"
    XLSX = "xlsx"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded"
    VALIDATING = "validating"
    VALID = "valid"
    INVALID = "invalid"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"


class ImportRun(TenantOwned):
    """One uploaded file and what became of it: checked (a dry run), then applied in one transaction.

    The file itself lies on disk under DATA_DIR/imports/ (`stored_name`), not in the database: runs read
    it as a stream, row by row, which a BinaryField (loaded whole) would not allow. Runs of the CLI read
    the operator's file in place and store nothing."""

    Kind = ImportKind
    Format = ImportFormat
    Status = ImportStatus

    kind = models.CharField(max_length=10, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices)
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    dry_run = models.BooleanField(default=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_ok = models.PositiveIntegerField(default=0)
    rows_bad = models.PositiveIntegerField(default=0)
    # The first errors (see STOCKTRACE_IMPORT_ERRORS_KEPT) as [{"line", "column", "reason"}], and how
    # many more there were.
    errors = models.JSONField(default=list, blank=True)
    errors_omitted = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    task_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["uploaded", "validating", "valid", "invalid",
                                                                  "applying", "applied", "failed"]),
                                   name="import_status_valid"),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="import_org_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.VALID, self.Status.INVALID, self.Status.APPLIED, self.Status.FAILED}
