from django.db import models

from stocktrace.tenancy.models import TenantOwned


class Site(TenantOwned):
    """A warehouse or store. Locations, counts and containers hang off a site."""

    code = models.CharField(max_length=32)
    name = models.CharField(max_length=150)
    address = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="uniq_site_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
