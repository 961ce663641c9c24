import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from stocktrace.accounts.models import ApiToken, User
from stocktrace.accounts.permissions import MEMBERS_MANAGE, TOKENS_OWN
from stocktrace.audit.services import audit_record, snapshot
from stocktrace.core.db import hydrated, pg_execute, select_list
from stocktrace.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from stocktrace.events.catalogue import event_publish
from stocktrace.tenancy.actor import Actor
from stocktrace.tenancy.models import Membership, Organization, Site, SiteAssignment
from stocktrace.tenancy.roles import Role

MEMBERSHIP_AUDITED = ["role", "is_active"]
TOKEN_PREFIX = "st_"


def _normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise InvalidInput("Enter a valid e-mail address", field="email") from exc
    return email


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; one of {', '.join(Role.values)}", field="role")
    return role


def password_set_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("web:password_set", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


@transaction.atomic
def member_invite(
    *, actor: Actor, email: str, role: str, full_name: str = "", site_ids: list[int] | None = None
) -> tuple[Membership, str | None]:
    """Add a person to the organization. A new user gets a link to choose a password (e-mailed, and
    returned once so an admin without mail can hand it over); an existing user just gains the membership."""
    actor.require(MEMBERS_MANAGE)
    email, role = _normalize_email(email), _check_role(role)
    sites = _sites_of_org(actor, site_ids or [])
    user = User.objects.filter(email=email).first()
    link = None
    if user is None:
        user = User.objects.create_user(email=email, password=None, full_name=full_name.strip())
        link = password_set_path(user)
    membership = Membership.objects.filter(organization=actor.organization, user=user).first()
    if membership is not None and membership.is_active:
        raise Conflict(f"{email} is a member already", field="email")
    if membership is None:
        membership = Membership.objects.create(organization=actor.organization, user=user, role=role)
        before = None
    else:
        before = snapshot(membership, MEMBERSHIP_AUDITED)
        membership.role, membership.is_active = role, True
        membership.save(update_fields=["role", "is_active"])
    for site in sites:
        SiteAssignment.objects.get_or_create(membership=membership, site=site)
    audit_record(
        actor=actor, action="membership.invite", obj=membership, before=before,
        after={"user": email, **snapshot(membership, MEMBERSHIP_AUDITED), "sites": [s.pk for s in sites]},
    )
    event_publish(organization=actor.organization, name="member.invited",
                  payload={"member": {"id": membership.pk, "email": email, "role": role}})
    invite_text = f"You have been added to {actor.organization.name} on stocktrace as {role}."
    if link:
        invite_text += f"\nChoose your password here: {settings.STOCKTRACE_BASE_URL}{link}"
    transaction.on_commit(
        lambda: send_mail("Your stocktrace access", invite_text, None, [email], fail_silently=True)
    )
    return membership, link


@transaction.atomic
def member_update(
    *, actor: Actor, membership: Membership, role: str | None = None, is_active: bool | None = None
) -> Membership:
    actor.require(MEMBERS_MANAGE)
    # Lock the target and every admin in one statement, in pk order, so two admins demoting each other
    # at once queue up instead of both passing the last-admin check (or deadlocking).
    locked = {
        m.pk: m
        for m in Membership.objects.for_org(actor.organization)
        .filter(Q(role=Role.ADMIN) | Q(pk=membership.pk))
        .select_for_update()
        .order_by("pk")
    }
    membership = locked[membership.pk]
    before = snapshot(membership, MEMBERSHIP_AUDITED)
    if role is not None:
        membership.role = _check_role(role)
    if is_active is not None:
        membership.is_active = is_active
    if not any(m.role == Role.ADMIN and m.is_active for m in locked.values()):
        raise Conflict("The organization must keep at least one active admin")
    after = snapshot(membership, MEMBERSHIP_AUDITED)
    if after != before:
        membership.save(update_fields=["role", "is_active"])
        if not membership.is_active:
            ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(actor=actor, action="membership.update", obj=membership, before=before, after=after)
        event_publish(organization=actor.organization, name="member.updated",
                      payload={"member": {"id": membership.pk, "email": membership.user.email, **after}})
    return membership


@transaction.atomic
def member_change(
    *, actor: Actor, membership: Membership, role: str, is_active: bool, site_ids: list[int]
) -> Membership:
    """Role, status and sites together, as the member page saves them: all or nothing."""
    membership = member_update(actor=actor, membership=membership, role=role, is_active=is_active)
    member_sites_set(actor=actor, membership=membership, site_ids=site_ids)
    return membership


@transaction.atomic
def member_password_link(*, actor: Actor, membership: Membership) -> str:
    """A fresh link for a member to choose a password (a lost invitation, a forgotten password).
    Refused for people who also belong to another organization: one tenant's admin must never be able
    to take over an account that acts in another tenant."""
    actor.require(MEMBERS_MANAGE)
    user = membership.user
    if not membership.is_active:
        raise Conflict("Reactivate the member first")
    if Membership.objects.filter(user=user).exclude(organization=actor.organization).exists():
        raise Conflict("This person also belongs to another organization; they can reset their own password "
                       "from the login page")
    link = password_set_path(user)
    audit_record(actor=actor, action="membership.password_link", obj=membership)
    text = f"Choose a new stocktrace password here: {settings.STOCKTRACE_BASE_URL}{link}"
    transaction.on_commit(lambda: send_mail("Your stocktrace password", text, None, [user.email], fail_silently=True))
    return link


def _sites_of_org(actor: Actor, site_ids: list[int]) -> list[Site]:
    unique_ids = sorted(set(site_ids))
    sites = list(Site.objects.for_org(actor.organization).filter(pk__in=unique_ids).order_by("pk"))
    if len(sites) != len(unique_ids):
        raise NotFound("No such site")
    return sites


@transaction.atomic
def member_sites_set(*, actor: Actor, membership: Membership, site_ids: list[int]) -> list[int]:
    actor.require(MEMBERS_MANAGE)
    sites = _sites_of_org(actor, site_ids)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = sorted(membership.site_assignments.values_list("site_id", flat=True))
    after = [s.pk for s in sites]
    if before != after:
        SiteAssignment.objects.filter(membership=membership).exclude(site_id__in=after).delete()
        for site in sites:
            SiteAssignment.objects.get_or_create(membership=membership, site=site)
        audit_record(actor=actor, action="membership.sites", obj=membership,
                     before={"sites": before}, after={"sites": after})
    return after


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor: Actor, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a personal API token and return it with its plaintext, which is never shown again."""
    actor.require(TOKENS_OWN)
    if actor.membership is None:
        raise PermissionDenied("Only people can own API tokens")
    name = name.strip()
    if not name:
        raise InvalidInput("The token needs a name", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future", field="expires_at")
    prefix = secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        membership=actor.membership, name=name, prefix=prefix,
        secret_hash=_hash_secret(secret), expires_at=expires_at,
    )
    audit_record(actor=actor, action="token.create", obj=token,
                 after={"name": name, "prefix": prefix, "expires_at": expires_at})
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


@transaction.atomic
def token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    actor.require(TOKENS_OWN)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.membership_id != getattr(actor.membership, "pk", None):
        raise NotFound("No such token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", obj=token,
                     before={"revoked_at": None}, after={"revoked_at": token.revoked_at})
    return token


@functools.cache
def _token_sql() -> str:
    return (f"SELECT {select_list(ApiToken, 't')}, {select_list(Membership, 'm')}, {select_list(User, 'u')}, "
            f"{select_list(Organization, 'o')} FROM {ApiToken._meta.db_table} t "
            f"JOIN {Membership._meta.db_table} m ON m.id = t.membership_id "
            f"JOIN {User._meta.db_table} u ON u.id = m.user_id "
            f"JOIN {Organization._meta.db_table} o ON o.id = m.organization_id WHERE t.prefix = %s")


def _token_with_membership(prefix: str) -> ApiToken | None:
    """The token with its membership, user and organization. Every API request asks: on PostgreSQL one
    prepared statement instead of compiling the ORM query (which costs more than running it)."""
    if connection.vendor != "postgresql":
        return (ApiToken.objects.select_related("membership__organization", "membership__user")
                .filter(prefix=prefix).first())
    # A read: after a database restart the first request reconnects instead of failing (no health check first).
    row = pg_execute(_token_sql(), [prefix], idempotent=True).fetchone()
    if row is None:
        return None
    objects: list[Any] = []  # an ApiToken, a Membership, a User and an Organization
    start = 0
    for model in (ApiToken, Membership, User, Organization):
        width = len(model._meta.concrete_fields)
        objects.append(hydrated(model, row[start:start + width]))
        start += width
    token: ApiToken
    token, membership, user, organization = objects
    membership.user, membership.organization = user, organization
    token.membership = membership
    return token


def token_authenticate(raw: str, *, ip: str | None = None) -> ApiToken | None:
    """The usable token a bearer string names, or None. Records when it was last used, at most once
    a minute so a busy scanner does not write on every request."""
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        return None
    prefix, _, secret = raw[len(TOKEN_PREFIX):].partition("_")
    token = _token_with_membership(prefix)
    if token is None or not hmac.compare_digest(token.secret_hash, _hash_secret(secret)):
        return None
    membership = token.membership
    if not (token.is_usable and membership.is_active and membership.user.is_active
            and membership.organization.is_active):
        return None
    now = timezone.now()
    touch_after = timedelta(seconds=settings.STOCKTRACE_TOKEN_TOUCH_SECONDS)
    if token.last_used_at is None or now - token.last_used_at > touch_after:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token


def password_change_audit(*, actor: Actor) -> None:
    """Audit a password change (the form itself does the change)."""
    assert actor.user is not None  # only a person has a password
    audit_record(actor=actor, action="user.password_change", obj=actor.user)
