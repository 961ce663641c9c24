"""The main journeys of the web UI in real Chromium: what a person sees, and what the database holds after."""

import re

from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core import mail
from playwright.sync_api import Page, expect

from stocktrace.accounts.models import ApiToken, User
from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.models import Membership, SiteAssignment
from tests.browser.conftest import login, shot
from tests.conftest import database_state
from tests.factories import PASSWORD

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}

# WCAG contrast ratio of an element's text against the first opaque background behind it.
CONTRAST_JS = """el => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let node = el, bg = getComputedStyle(el).backgroundColor;
  while (node && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
    node = node.parentElement;
    bg = node ? getComputedStyle(node).backgroundColor : 'rgb(255, 255, 255)';
  }
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(bg));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def sessions_of(user) -> list[Session]:
    return [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]


def member_row(page: Page, email: str):
    return page.locator(f'tr[data-email="{email}"]')


def test_login_wrong_password_then_right_one(page: Page, live_server, world):
    admin = world.alpha.user("admin")
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Log in to stocktrace")).to_be_visible()
    page.locator("#id_username").fill(admin.email)
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".errorlist")).to_contain_text("Please enter a correct")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator("#id_username")).to_have_value(admin.email)
    expect(page.locator("header.top")).to_have_count(0)
    shot(page, "login-error")
    assert sessions_of(admin) == []
    assert AccessAttempt.objects.get(username=admin.email).failures_since_start == 1
    admin.refresh_from_db()
    assert admin.last_login is None

    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Org")
    expect(page.locator("[data-testid=role]")).to_have_text("admin")
    assert page.locator("[data-testid=role]").evaluate(CONTRAST_JS) >= 4.5, "the role badge is unreadable"
    expect(page.locator("header.top")).to_contain_text(admin.email)
    expect(page.locator("body")).not_to_contain_text("Bravo")
    shot(page, "home-admin")
    assert len(sessions_of(admin)) == 1
    assert not AccessAttempt.objects.filter(username=admin.email).exists()  # reset on success
    admin.refresh_from_db()
    assert admin.last_login is not None


def test_admin_invites_a_member_who_sets_a_password_and_logs_in(page: Page, live_server, world, new_context):
    alpha = world.alpha
    site = alpha.sites[1]
    email = "new.person@alpha.test"
    login(page, live_server, alpha.user("admin").email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    expect(page).to_have_url(f"{live_server.url}/members/")
    expect(member_row(page, email)).to_have_count(0)
    mail.outbox.clear()

    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Name").fill("New Person")
    page.get_by_label("Role").select_option("dispatcher")
    page.get_by_label(str(site)).check()
    page.get_by_role("button", name="Invite").click()

    message = page.locator(".messages li")
    expect(message).to_contain_text(f"{email} was added as dispatcher.")
    expect(member_row(page, email).locator("[data-testid=member-role]")).to_have_text("dispatcher")
    expect(member_row(page, email)).to_contain_text("New Person")
    expect(member_row(page, email)).to_contain_text(site.code)
    shot(page, "members-after-invite")

    membership = Membership.objects.select_related("user").get(organization=alpha.organization,
                                                                user__email=email)
    assert membership.role == "dispatcher"
    assert membership.is_active
    assert membership.user.full_name == "New Person"
    assert not membership.user.has_usable_password()
    assert list(membership.site_assignments.values_list("site_id", flat=True)) == [site.pk]
    event = AuditEvent.objects.get(action="membership.invite", object_id=str(membership.pk))
    assert event.organization_id == alpha.organization.pk
    assert event.actor_id == alpha.user("admin").pk
    assert event.after["user"] == email
    assert event.after["role"] == "dispatcher"
    assert event.after["sites"] == [site.pk]
    assert [m.to for m in mail.outbox] == [[email]]

    link = re.search(r"(https?://\S+/password/set/\S+/)", message.inner_text()).group(1)
    path = re.search(r"/password/set/\S+/", link).group(0)
    assert path in mail.outbox[0].body
    assert link.startswith(live_server.url)

    # The invited person, in their own browser.
    invitee = new_context().new_page()
    invitee.set_default_timeout(10_000)
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Choose your password")).to_be_visible()
    shot(invitee, "set-password")
    invitee.get_by_label("New password", exact=True).fill("a-brand-new-secret-42")
    invitee.get_by_label("New password confirmation").fill("a-brand-new-secret-42")
    invitee.get_by_role("button", name="Set password").click()
    expect(invitee).to_have_url(f"{live_server.url}/login/")
    expect(invitee.locator(".messages li")).to_contain_text("Password set.")
    user = User.objects.get(email=email)
    assert user.check_password("a-brand-new-secret-42")

    login(invitee, live_server, email, "a-brand-new-secret-42")
    expect(invitee).to_have_url(f"{live_server.url}/")
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Alpha Org")
    expect(invitee.locator("[data-testid=role]")).to_have_text("dispatcher")
    assert len(sessions_of(user)) == 1

    # The link works once: opened again it explains itself and offers no form.
    invitee.get_by_role("button", name="Log out").click()
    expect(invitee).to_have_url(f"{live_server.url}/login/")
    invitee.goto(link)
    expect(invitee).to_have_url(f"{live_server.url}/login/")
    expect(invitee.locator(".messages li.error")).to_contain_text("This link is invalid or was used already.")
    expect(invitee.get_by_role("button", name="Set password")).to_have_count(0)
    expect(invitee.locator("input[name^=new_password]")).to_have_count(0)
    shot(invitee, "set-password-used-link")
    user.refresh_from_db()
    assert user.check_password("a-brand-new-secret-42")


def test_admin_changes_a_members_role(page: Page, live_server, world):
    alpha = world.alpha
    counter = alpha.members["counter"]
    sites_before = sorted(counter.site_assignments.values_list("site_id", flat=True))
    login(page, live_server, alpha.user("admin").email)
    page.goto(f"{live_server.url}/members/")
    expect(member_row(page, counter.user.email).locator("[data-testid=member-role]")).to_have_text("counter")

    member_row(page, counter.user.email).get_by_role("link", name=counter.user.email).click()
    expect(page).to_have_url(f"{live_server.url}/members/{counter.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(counter.user.email)
    expect(page.get_by_label("Role")).to_have_value("counter")
    shot(page, "member-detail")
    page.get_by_label("Role").select_option("supervisor")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(f"{live_server.url}/members/")
    expect(page.locator(".messages li")).to_contain_text(f"{counter.user.email} saved.")
    expect(member_row(page, counter.user.email).locator("[data-testid=member-role]")).to_have_text("supervisor")

    counter.refresh_from_db()
    assert counter.role == "supervisor"
    assert counter.is_active
    assert sorted(counter.site_assignments.values_list("site_id", flat=True)) == sites_before
    event = AuditEvent.objects.get(action="membership.update", object_id=str(counter.pk))
    assert event.actor_id == alpha.user("admin").pk
    assert event.before == {"role": "counter", "is_active": True}
    assert event.after == {"role": "supervisor", "is_active": True}
    assert not AuditEvent.objects.filter(action="membership.sites").exists()  # sites were not touched

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(f"{live_server.url}/audit/")
    row = page.locator("[data-testid=audit] tbody tr").filter(has_text="membership.update")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(alpha.user("admin").email)
    expect(row).to_contain_text(f"#{counter.pk}")
    expect(row).to_contain_text("supervisor")
    shot(page, "audit")


def test_logout_returns_to_login_and_closes_the_pages(page: Page, live_server, world):
    admin = world.alpha.user("admin")
    login(page, live_server, admin.email)
    assert len(sessions_of(admin)) == 1

    page.locator("header.top").get_by_role("button", name="Log out").click()

    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Log in to stocktrace")).to_be_visible()
    expect(page.locator("header.top")).to_have_count(0)
    assert sessions_of(admin) == []

    page.goto(f"{live_server.url}/members/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/members/")
    expect(page.locator("[data-testid=members]")).to_have_count(0)


def test_counter_has_no_members_page(page: Page, live_server, world):
    alpha = world.alpha
    login(page, live_server, alpha.user("counter").email)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Sites")).to_be_visible()
    expect(nav.get_by_role("link", name="API tokens")).to_be_visible()
    expect(nav.get_by_role("link", name="Members")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(page.locator("[data-testid=role]")).to_have_text("counter")

    response = page.goto(f"{live_server.url}/members/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("Your role (counter) cannot open this page.")
    expect(page.locator("[data-testid=members]")).to_have_count(0)
    shot(page, "forbidden")

    # Posting the invite form by hand is refused too, and changes nothing.
    before = database_state()
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{live_server.url}/members/invite/",
        form={"email": "sneaky@alpha.test", "role": "admin", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{live_server.url}/members/"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert database_state() == before
    assert not User.objects.filter(email="sneaky@alpha.test").exists()


def test_api_token_is_shown_once_and_revoked(page: Page, live_server, world, playwright):
    alpha = world.alpha
    viewer = alpha.members["viewer"]
    login(page, live_server, viewer.user.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    expect(page).to_have_url(f"{live_server.url}/tokens/")
    expect(page.locator("main tbody")).to_contain_text("No tokens yet.")

    page.get_by_label("Name").fill("Scanner 4, aisle B")
    page.get_by_role("button", name="Create token").click()

    secret_box = page.locator("[data-testid=new-token]")
    expect(secret_box).to_be_visible()
    expect(secret_box).to_have_text(re.compile(r"^st_[0-9a-f]{10}_\S{20,}$"))
    secret = secret_box.inner_text().strip()
    row = page.locator("main tbody tr").filter(has_text="Scanner 4, aisle B")
    expect(row).to_have_count(1)
    shot(page, "token-created")

    token = ApiToken.objects.get(membership=viewer)
    assert token.name == "Scanner 4, aisle B"
    assert token.revoked_at is None
    assert secret.startswith(f"st_{token.prefix}_")
    assert secret not in token.secret_hash  # only a hash is stored
    assert AuditEvent.objects.filter(action="token.create", object_id=str(token.pk)).count() == 1
    expect(row.locator("code")).to_have_text(token.prefix)

    # A client with no browser session: only the bearer token can authenticate it.
    api = playwright.request.new_context(base_url=live_server.url)
    try:
        bearer = {"Authorization": f"Bearer {secret}"}
        me = api.get("/api/v1/me", headers=bearer)
        assert me.status == 200, me.text()
        assert me.json()["email"] == viewer.user.email
        assert me.json()["role"] == "viewer"
        assert api.get("/api/v1/me").status == 401

        page.goto(f"{live_server.url}/tokens/")
        expect(page.locator("[data-testid=new-token]")).to_have_count(0)
        expect(page.locator("main")).not_to_contain_text(secret)
        expect(row).to_have_count(1)
        assert ApiToken.objects.filter(membership=viewer).count() == 1

        row.get_by_role("button", name="Revoke").click()
        expect(page.locator(".messages li")).to_contain_text("Token Scanner 4, aisle B revoked.")
        expect(row).to_contain_text("revoked")
        expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
        shot(page, "token-revoked")

        token.refresh_from_db()
        assert token.revoked_at is not None
        assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk)).count() == 1
        after = api.get("/api/v1/me", headers=bearer)
        assert after.status == 401, after.text()
        assert viewer.user.email not in after.text()
    finally:
        api.dispose()


def test_phone_layout_has_big_touch_targets(new_context, live_server, world):
    phone = new_context(**PHONE).new_page()
    phone.set_default_timeout(10_000)
    phone.goto(f"{live_server.url}/login/")

    def assert_fits(page: Page) -> None:
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px on a phone"

    button = phone.get_by_role("button", name="Log in")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 44, box
    assert box["width"] >= 44, box
    for field in ("#id_username", "#id_password"):
        field_box = phone.locator(field).bounding_box()
        assert field_box["height"] >= 44, (field, field_box)
        assert field_box["x"] >= 0 and field_box["x"] + field_box["width"] <= 390, (field, field_box)
    assert_fits(phone)
    shot(phone, "phone-login")

    login(phone, live_server, world.alpha.user("admin").email)
    expect(phone.locator("[data-testid=role]")).to_have_text("admin")
    # The header is one compact bar; the links and the account are behind one Menu button.
    nav = phone.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    assert phone.locator("header.top").bounding_box()["height"] <= 64
    menu = phone.get_by_role("button", name="Menu")
    assert menu.bounding_box()["height"] >= 44
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    shot(phone, "phone-menu-open")
    logout_box = phone.get_by_role("button", name="Log out").bounding_box()
    assert logout_box["height"] >= 44, logout_box
    for link in phone.get_by_role("navigation", name="Main").get_by_role("link").all():
        assert link.bounding_box()["height"] >= 44, link.inner_text()
    assert_fits(phone)
    shot(phone, "phone-home")

    phone.goto(f"{live_server.url}/members/")
    invite = phone.get_by_role("button", name="Invite")
    invite.scroll_into_view_if_needed()
    assert invite.bounding_box()["height"] >= 44
    assert_fits(phone)
    shot(phone, "phone-members")


def test_home_counts_people_without_a_site_but_not_admins(page: Page, live_server, world):
    # make_world gives every non-admin a site; the admin sees all sites without one. Take the viewer's away.
    viewer = world.alpha.members["viewer"]
    SiteAssignment.objects.filter(membership=viewer).delete()
    login(page, live_server, world.alpha.user("admin").email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Org")
    expect(page.locator("main")).to_contain_text("6 members")
    expect(page.locator("[data-testid=without-site]")).to_have_text("1 without a site")
    shot(page, "home-admin")

    page.get_by_role("link", name="Assign their sites").click()
    expect(page).to_have_url(f"{live_server.url}/members/?without_site=1")
    expect(page.locator("[data-testid=members] tbody tr")).to_have_count(1)
    expect(member_row(page, viewer.user.email).locator("[data-testid=member-role]")).to_have_text("viewer")
    expect(member_row(page, viewer.user.email)).to_contain_text("no site")


def test_reloading_after_creating_a_token_creates_no_second_token(page: Page, live_server, world):
    viewer = world.alpha.members["viewer"]
    login(page, live_server, viewer.user.email)
    page.goto(f"{live_server.url}/tokens/")
    page.get_by_label("Name").fill("Scanner 5")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("[data-testid=new-token]")).to_be_visible()
    assert ApiToken.objects.filter(membership=viewer).count() == 1

    page.reload()

    assert ApiToken.objects.filter(membership=viewer).count() == 1
    assert page.locator("[data-testid=new-token]").count() == 0
