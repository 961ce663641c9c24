from typing import Self, TypeVar

from django.conf import settings
from django.db import models

from stocktrace.tenancy.roles import Role


class Organization(models.Model):
    """A tenant. Every other row of stocktrace belongs to exactly one."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)
    allow_negative_stock = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


_M = TypeVar("_M", bound=models.Model)


class TenantQuerySet(models.QuerySet[_M]):
    def for_org(self, organization: Organization | int) -> Self:
        return self.filter(organization=organization)


class TenantOwned(models.Model):
    """Base of every tenant-owned model: reach rows through `Model.objects.for_org(org)`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="uniq_membership"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.role}"


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


class SiteAssignment(models.Model):
    membership = models.ForeignKey(
        "tenancy.Membership", on_delete=models.CASCADE, related_name="site_assignments"
    )
    site = models.ForeignKey("tenancy.Site", on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "site"], name="uniq_site_assignment")]

    def __str__(self) -> str:
        return f"{self.membership} @ {self.site}"
