"""Test worlds: two organizations, "alpha" and "bravo", each with a person for every role.

Everything of bravo carries the word "bravo" (e-mails, names, codes), so a test can assert that no
response seen by alpha contains it.
"""

from dataclasses import dataclass, field

from stocktrace.accounts.models import ApiToken, User
from stocktrace.accounts.services import token_create
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Organization, Site, SiteAssignment
from stocktrace.tenancy.roles import Role

PASSWORD = "correct-horse-battery"


@dataclass
class Tenant:
    name: str
    organization: Organization
    members: dict[str, Membership] = field(default_factory=dict)
    sites: list[Site] = field(default_factory=list)
    tokens: dict[str, ApiToken] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.members[role].user

    def actor(self, role: str = Role.ADMIN) -> Actor:
        return Actor(organization=self.organization, membership=self.members[role], device="test")


def make_tenant(name: str, *, with_tokens: bool = False) -> Tenant:
    org = Organization.objects.create(name=f"{name.title()} Org", slug=name)
    tenant = Tenant(name=name, organization=org)
    tenant.sites = [
        Site.objects.create(organization=org, code=f"{name.upper()}-{n}", name=f"{name} site {n}")
        for n in (1, 2)
    ]
    for role in Role:
        user = User.objects.create_user(email=f"{role}@{name}.test", password=PASSWORD,
                                        full_name=f"{role.title()} {name}")
        membership = Membership.objects.create(organization=org, user=user, role=role)
        tenant.members[role] = membership
        if role != Role.ADMIN:
            SiteAssignment.objects.create(membership=membership, site=tenant.sites[0])
        if with_tokens:
            token, _ = token_create(actor=tenant.actor(role), name=f"{name} {role} device")
            tenant.tokens[role] = token
    return tenant


@dataclass
class World:
    alpha: Tenant
    bravo: Tenant


def make_world(**kwargs) -> World:
    return World(alpha=make_tenant("alpha", **kwargs), bravo=make_tenant("bravo", **kwargs))


def stocked(tenant: Tenant):
    """A bin in the tenant's first site with 10 of an item (barcode 4006381333931) in it; made once."""
    from stocktrace.inventory.models import Item, Location
    from stocktrace.inventory.services.catalog import item_create, location_create
    from stocktrace.inventory.services.ledger import stock_receive

    org = tenant.organization
    location = Location.objects.filter(organization=org, code="A-01").first()
    item = Item.objects.filter(organization=org, sku=f"{tenant.name.upper()}-SKU-1").first()
    if location is None:
        actor = tenant.actor()
        location = location_create(actor=actor, site=tenant.sites[0], code="A-01", kind="bin")
        barcode = "4006381333931" if tenant.name == "alpha" else "96385074"
        item = item_create(actor=actor, sku=f"{tenant.name.upper()}-SKU-1", name=f"{tenant.name} widget",
                           unit_cost="2.5000", barcodes=[barcode])
        stock_receive(actor=actor, item=item, location=location, quantity_received="10")
    return item, location
