"""Realistic demo data: one organization, its sites and a person for every role."""

from django.db import transaction
from django.test.utils import override_settings

from stocktrace.accounts.models import User
from stocktrace.accounts.services import member_invite, organization_create, site_create
from stocktrace.ops.demo_counts import demo_counts_load
from stocktrace.ops.demo_inventory import demo_inventory_load
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.roles import Role

DEMO_SLUG = "demo"
DEMO_PASSWORD = "stocktrace-demo"
SITES = [
    ("WH-NORTH", "North distribution centre", "Unit 4, Northgate Industrial Park"),
    ("WH-SOUTH", "South warehouse", "12 Harbour Road"),
    ("ST-CITY", "City store", "1 Market Street"),
]
# (login, role, name, sites): a person for every role, each with a site to work at, and one new hire the
# admin has not given a site yet, whom the admin's home page lists.
PEOPLE = [
    ("admin", Role.ADMIN, "Ada Admin", []),
    ("supervisor", Role.SUPERVISOR, "Sam Supervisor", ["WH-NORTH", "WH-SOUTH"]),
    ("counter", Role.COUNTER, "Cory Counter", ["WH-NORTH"]),
    ("biller", Role.BILLER, "Billie Biller", ["WH-SOUTH"]),
    ("dispatcher", Role.DISPATCHER, "Dee Dispatcher", ["WH-SOUTH"]),
    ("viewer", Role.VIEWER, "Vic Viewer", ["ST-CITY"]),
    ("newhire", Role.COUNTER, "Nico Newhire", []),
]


def demo_email(login: str) -> str:
    return f"{login}@demo.stocktrace.test"


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
    for login, _, name, _ in PEOPLE:
        user = User.objects.filter(email=demo_email(login)).first() or User.objects.create_user(
            email=demo_email(login), password=DEMO_PASSWORD, full_name=name)
        users[login] = user
    org = organization_create(name="Demo Warehouse Co", slug=DEMO_SLUG, admin=users["admin"], device="demo")
    actor = Actor.system(org, device="demo")
    sites = {code: site_create(actor=actor, code=code, name=name, address=address)
             for code, name, address in SITES}
    for login, role, _, site_codes in PEOPLE:
        if login != "admin":
            member_invite(actor=actor, email=users[login].email, role=role,
                          site_ids=[sites[code].pk for code in site_codes])
    demo_inventory_load(organization=org, sites=list(sites.values()), items=items)
    people = {login: Membership.objects.get(organization=org, user=users[login]) for login, *_ in PEOPLE}
    demo_counts_load(organization=org, people=people)
    return org, True
