"""Realistic demo data: one organization, its sites and a person for every role."""

from django.db import transaction

from stocktrace.accounts.models import SiteAssignment, User
from stocktrace.accounts.roles import Role
from stocktrace.inventory.services import site_create
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.services import organization_create

DEMO_SLUG = "demo"
DEMO_PASSWORD = "stocktrace-demo"
SITES = [
    ("WH-NORTH", "North distribution centre", "Unit 4, Northgate Industrial Park"),
    ("WH-SOUTH", "South warehouse", "12 Harbour Road"),
    ("ST-CITY", "City store", "1 Market Street"),
]
PEOPLE = [
    (Role.ADMIN, "Ada Admin", []),
    (Role.SUPERVISOR, "Sam Supervisor", ["WH-NORTH", "WH-SOUTH"]),
    (Role.COUNTER, "Cory Counter", ["WH-NORTH"]),
    (Role.BILLER, "Billie Biller", ["WH-SOUTH"]),
    (Role.DISPATCHER, "Dee Dispatcher", ["WH-SOUTH"]),
    (Role.VIEWER, "Vic Viewer", []),  # left without a site on purpose: the members page flags him
]


def demo_email(role: str) -> str:
    return f"{role}@demo.stocktrace.test"


@transaction.atomic
def demo_load() -> tuple[Organization, bool]:
    """Create the demo organization unless it exists; returns it and whether it was created."""
    existing = Organization.objects.filter(slug=DEMO_SLUG).first()
    if existing:
        return existing, False
    users = {}
    for role, name, _ in PEOPLE:
        user = User.objects.filter(email=demo_email(role)).first() or User.objects.create_user(
            email=demo_email(role), password=DEMO_PASSWORD, full_name=name)
        users[role] = user
    org = organization_create(name="Demo Warehouse Co", slug=DEMO_SLUG, admin=users[Role.ADMIN], device="demo")
    actor = Actor.system(org, device="demo")
    sites = {code: site_create(actor=actor, code=code, name=name, address=address)
             for code, name, address in SITES}
    for role, _, site_codes in PEOPLE:
        if role == Role.ADMIN:
            continue
        membership = Membership.objects.create(organization=org, user=users[role], role=role)
        for code in site_codes:
            SiteAssignment.objects.create(membership=membership, site=sites[code])
    return org, True
