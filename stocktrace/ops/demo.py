"""Realistic demo data: one organization, its sites and a person for every role."""

from django.db import transaction
from django.test.utils import override_settings

from stocktrace.accounts.models import User
from stocktrace.accounts.services import member_invite, organization_create, site_create
from stocktrace.ops.demo_inventory import demo_inventory_load
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Organization
from stocktrace.tenancy.roles import Role

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


def demo_load(*, items: int = 10_000) -> tuple[Organization, bool]:
    """Create the demo organization unless it exists; returns it and whether it was created.
    Everything goes through the services, so the demo's audit log tells how it was set up."""
    # The demo people have no real mailboxes: the invitations are not sent.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        return _demo_load(items=items)


@transaction.atomic
def _demo_load(*, items: int) -> tuple[Organization, bool]:
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
        if role != Role.ADMIN:
            member_invite(actor=actor, email=users[role].email, role=role,
                          site_ids=[sites[code].pk for code in site_codes])
    demo_inventory_load(organization=org, sites=list(sites.values()), items=items)
    return org, True
