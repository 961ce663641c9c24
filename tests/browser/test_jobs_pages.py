from django_tasks_db.models import DBTaskResult
from playwright.sync_api import Page, expect

from stocktrace.audit.models import AuditEvent
from stocktrace.jobs.models import DeadLetter
from tests.browser.conftest import login, shot
from tests.test_jobs import run_worker


def test_admin_inspects_and_replays_a_dead_letter(page: Page, live_server, world, tmp_path):
    from tests import job_fixtures

    org = world.alpha.organization
    job_fixtures.fatal.enqueue(organization_id=org.pk)
    run_worker()
    letter = DeadLetter.objects.get()

    login(page, live_server, world.alpha.user("admin").email)
    page.get_by_role("link", name="Jobs").click()
    row = page.locator(f"tr[data-dead-letter='{letter.pk}']")
    expect(row).to_contain_text("tests.job_fixtures.fatal")
    expect(row).to_contain_text("Fatal: cannot ever work")

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Dead letter {letter.pk}")).to_be_visible()
    expect(page.locator("details").last).to_contain_text("raise Fatal")
    shot(page, "dead_letter")
    page.get_by_role("button", name="Replay").click()

    expect(page.get_by_role("status")).to_contain_text(f"Dead letter {letter.pk} replayed")
    expect(page.locator("[data-testid=dead-letters]")).to_contain_text("No dead letters.")
    letter.refresh_from_db()
    assert letter.status == "replayed" and letter.resolved_by == world.alpha.user("admin")
    assert DBTaskResult.objects.get(pk=letter.replay_task_id).status == "READY"
    assert AuditEvent.objects.filter(action="dead_letter.replay", object_id=str(letter.pk)).count() == 1


def test_supervisor_sees_statistics_but_no_dead_letters(page: Page, live_server, world):
    login(page, live_server, world.alpha.user("supervisor").email)
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Background jobs")).to_be_visible()
    expect(page.locator("[data-testid=workers-alive]")).to_have_text("0 alive")
    expect(page.locator("[data-testid=dead-letters]")).to_have_count(0)
