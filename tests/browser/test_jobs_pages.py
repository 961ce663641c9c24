from django_tasks_db.models import DBTaskResult
from playwright.sync_api import Page, expect

from stocktrace.audit.models import AuditEvent
from stocktrace.jobs.models import DeadLetter
from tests.browser.conftest import login, shot
from tests.job_fixtures import run_worker


def test_admin_inspects_and_replays_a_dead_letter(page: Page, live_server, world, tmp_path):
    from tests import job_fixtures

    org = world.alpha.organization
    job_fixtures.fatal.enqueue(organization_id=org.pk)
    run_worker()
    letter = DeadLetter.objects.get()

    login(page, live_server, world.alpha.user("admin").email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
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
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Background jobs")).to_be_visible()
    expect(page.locator("[data-testid=workers-alive]")).to_have_text("0 alive")
    expect(page.locator("[data-testid=dead-letters]")).to_have_count(0)


def test_admin_filters_dead_letters_by_job_and_replays_those_after_confirming(page: Page, live_server, world):
    from tests import job_fixtures

    org = world.alpha.organization
    for _ in range(2):
        job_fixtures.fatal.enqueue(organization_id=org.pk)
    job_fixtures.fail_until.enqueue("/nonexistent/counter", 99, organization_id=org.pk)  # cannot write: dies
    run_worker()
    assert DeadLetter.objects.count() == 3

    login(page, live_server, world.alpha.user("admin").email)
    page.goto(f"{live_server.url}/jobs/")
    expect(page.locator("[data-testid=dead-letters-count]")).to_have_text("3 open dead letters.")
    page.get_by_label("Job").select_option("tests.job_fixtures.fatal")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-testid=dead-letters-count]")).to_have_text(
        "2 open dead letters of tests.job_fixtures.fatal.")
    expect(page.locator("[data-testid=dead-letters] tbody tr")).to_have_count(2)
    page.get_by_text("Replay all…").click()
    expect(page.locator("[data-testid=replay-all]")).to_contain_text(
        "Replay all 2 open dead letters of tests.job_fixtures.fatal?")
    shot(page, "jobs_replay_all")
    page.get_by_role("button", name="Replay 2 dead letters").click()

    expect(page.get_by_role("status")).to_contain_text("Replayed 2 dead letters of tests.job_fixtures.fatal.")
    expect(page.locator("[data-testid=dead-letters]")).to_contain_text("No dead letters match.")
    assert sorted(DeadLetter.objects.values_list("task_path", "status")) == [
        ("tests.job_fixtures.fail_until", "dead"), ("tests.job_fixtures.fatal", "replayed"),
        ("tests.job_fixtures.fatal", "replayed")]
