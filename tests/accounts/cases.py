"""The accounts app's API endpoints and pages: logins, members, tokens (tests/cases.py describes the convention)."""

import itertools

from stocktrace.accounts.models import ApiToken
from stocktrace.accounts.services import member_invite, token_create
from stocktrace.tenancy.models import Membership, Organization
from stocktrace.tenancy.roles import Role
from tests.cases import Case, Page
from tests.factories import PASSWORD


def _token_of(own, role, target) -> dict:
    membership = own.members[role] if target is own else target.members[Role.ADMIN]
    token = ApiToken.objects.create(membership=membership, name="case", prefix=f"case{membership.pk}",
                                    secret_hash="0" * 64)
    return {"token_id": token.pk}


def _token(tenant, role) -> ApiToken:
    token, _ = token_create(actor=tenant.actor(role), name="page test")
    return token


def _member(own, role, target) -> dict:
    return {"member_id": target.members[Role.VIEWER].pk}


def _site(own, role, target) -> dict:
    return {"site_id": target.sites[0].pk}


API_CASES: dict[str, Case] = {
    "GET /sites": Case(),
    "POST /sites": Case(body=lambda *a: {"code": "NEW-1", "name": "New site"}, audit_action="site.create",
                        success=201),
    "GET /sites/{site_id}": Case(params=_site, crosses_tenants=True),
    "PATCH /sites/{site_id}": Case(params=_site, body=lambda *a: {"name": "Renamed site"},
                                   audit_action="site.update", crosses_tenants=True),
    "POST /sites/{site_id}/archive": Case(params=_site, audit_action="site.archive", crosses_tenants=True),
    "GET /me": Case(),
    "GET /organizations": Case(),
    "GET /organization": Case(),
    "PATCH /organization": Case(body=lambda *a: {"name": "Renamed Org"}, audit_action="organization.update"),
    "POST /auth/login": Case(body=lambda own, role, target: {"email": own.user(role).email, "password": PASSWORD}),
    "POST /auth/logout": Case(success=204),
    "GET /members": Case(),
    "POST /members": Case(
        body=lambda own, role, target: {"email": "new.person@example.test", "role": "counter",
                                        "site_ids": [target.sites[1].pk]},
        audit_action="membership.invite", crosses_tenants=True, success=201,
    ),
    "GET /members/{member_id}": Case(params=_member, crosses_tenants=True),
    "PATCH /members/{member_id}": Case(params=_member, body=lambda *a: {"role": "biller"},
                                       audit_action="membership.update", crosses_tenants=True),
    "GET /members/{member_id}/sites": Case(params=_member, crosses_tenants=True),
    "PUT /members/{member_id}/sites": Case(
        params=lambda own, role, target: {"member_id": own.members[Role.VIEWER].pk},
        body=lambda own, role, target: {"site_ids": [target.sites[1].pk]},
        audit_action="membership.sites", crosses_tenants=True,
    ),
    "POST /members/{member_id}/password-link": Case(params=_member, audit_action="membership.password_link",
                                                    crosses_tenants=True),
    "GET /tokens": Case(),
    "POST /tokens": Case(body=lambda *a: {"name": "scanner 7"}, audit_action="token.create", success=201),
    "DELETE /tokens/{token_id}": Case(params=_token_of, audit_action="token.revoke", crosses_tenants=True),
}

PAGES: dict[str, Page] = {
    "sites": Page(),
    "home": Page(),
    "organization": Page(),
    "members": Page(),
    "member_invite": Page("POST", data=lambda own, role, target: {"email": "n@example.test", "role": "counter"}),
    "member_detail": Page(kwargs=_member),
    "member_password_link": Page("POST", kwargs=_member, data=lambda *a: {}),
    "tokens": Page(),
    "token_revoke": Page("POST", kwargs=lambda own, role, target: {"token_id": _token(target, role).pk},
                         data=lambda *a: {}),
}


# The most queries each list endpoint ("GET /path") and page (URL name) may make, whatever its number of rows.
QUERY_BUDGETS: dict[str, int] = {
    "GET /sites": 4,
    "sites": 5,
    "GET /organizations": 4,
    "organization": 4,
    "home": 17,  # the role's panels: site figures and alerts, counts in progress, people, failed jobs, workers
    "GET /members": 5,
    "GET /tokens": 4,
    "members": 8,
    "member_detail": 7,
    "tokens": 5,
}

_serial = itertools.count(1)


def make_rows(tenant, count: int) -> None:
    """More members (with every site), more API tokens of the admin, and more organizations the admin belongs
    to (the switcher and GET /organizations list them)."""
    actor = tenant.actor()
    for _ in range(count):
        n = next(_serial)
        organization = Organization.objects.create(name=f"Other Org {n}", slug=f"other-{tenant.name}-{n}")
        Membership.objects.create(organization=organization, user=tenant.user(Role.ADMIN), role=Role.VIEWER)
        member_invite(actor=actor, email=f"extra{n}@{tenant.name}.test", role=Role.COUNTER,
                      site_ids=[site.pk for site in tenant.sites])
        token_create(actor=actor, name=f"extra {n}")
