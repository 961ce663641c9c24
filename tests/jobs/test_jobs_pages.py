"""The jobs page: dead letters filtered, counted and replayed."""

from stocktrace.audit.models import AuditEvent
from stocktrace.tenancy.roles import Role
from tests.conftest import database_state


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _dead_letters(tenant, task_path: str, count: int, status: str = "dead") -> list:
    import uuid

    from django.utils import timezone

    from stocktrace.jobs.models import DeadLetter

    now = timezone.now()
    return DeadLetter.objects.bulk_create([
        DeadLetter(organization=tenant.organization, task_id=uuid.uuid4(), task_path=task_path, queue_name="default",
                   args_kwargs={"args": [], "kwargs": {"organization_id": tenant.organization.pk}}, attempts=3,
                   first_failed_at=now, last_failed_at=now, last_error="Boom", status=status,
                   resolved_at=None if status == "dead" else now)
        for _ in range(count)])


def test_jobs_page_filters_dead_letters_by_job_and_status_and_says_how_many_match(world, client_as):
    noop, fatal = "stocktrace.jobs.tasks.noop", "tests.job_fixtures.fatal"
    _dead_letters(world.alpha, noop, 101)
    _dead_letters(world.alpha, fatal, 2)
    replayed = _dead_letters(world.alpha, noop, 1, status="replayed")
    _dead_letters(world.alpha, fatal, 1, status="discarded")
    _dead_letters(world.bravo, "tests.job_fixtures.bravo_only", 1)
    client = client_as(world.alpha, Role.ADMIN)

    everything = client.get("/jobs/")
    html = everything.content.decode()
    assert (len(everything.context["dead"]), everything.context["dead_matching"]) == (100, 103)
    assert "103 open dead letters, showing 100 of 103 (the newest)." in html
    assert "Replay 103 dead letters</button>" in html and "not only the 100 shown" in html
    assert [value for value, _ in everything.context["dead_filter"].fields["task"].choices] == ["", noop, fatal]
    assert "bravo_only" not in html

    response = client.get("/jobs/", {"task": fatal})
    html = response.content.decode()
    assert {d.task_path for d in response.context["dead"]} == {fatal} and response.context["dead_matching"] == 2
    assert f"2 open dead letters of <code>{fatal}</code>." in html and "showing" not in html
    assert f"Replay all 2 open dead letters of <code>{fatal}</code>?" in html
    assert f'name="task" value="{fatal}"' in html

    response = client.get("/jobs/", {"status": "replayed"})
    html = response.content.decode()
    assert [d.pk for d in response.context["dead"]] == [replayed[0].pk]
    assert "1 replayed dead letter." in html and 'data-testid="replay-all"' not in html
    assert ">Replay</button>" not in html and ">Discard</button>" not in html
    response = client.get("/jobs/", {"status": "discarded", "task": noop})
    assert response.context["dead"] == [] and "No dead letters match." in response.content.decode()

    unknown = client.get("/jobs/", {"task": "tests.job_fixtures.bravo_only", "status": "gone"})
    assert unknown.status_code == 200 and unknown.context["dead_matching"] == 103  # refused filters: the default
    assert unknown.context["dead_filter"].errors.keys() == {"task", "status"}


def test_replay_all_on_the_jobs_page_replays_the_dead_letters_it_counted_of_the_job_filtered_by(world, client_as):
    from django_tasks_db.models import DBTaskResult

    from stocktrace.jobs.models import DeadLetter

    noop, fatal = "stocktrace.jobs.tasks.noop", "tests.job_fixtures.fatal"
    _dead_letters(world.alpha, noop, 2)
    counted = _dead_letters(world.alpha, fatal, 2)
    _dead_letters(world.bravo, fatal, 1)
    client = client_as(world.alpha, Role.ADMIN)
    page = client.get("/jobs/", {"task": fatal})
    through = page.context["dead"][0].pk
    assert f'name="through" value="{through}"' in page.content.decode()
    late = _dead_letters(world.alpha, fatal, 1)  # failed after the count was shown

    response = client.post("/jobs/dead-letters/replay/", {"task": fatal, "through": through}, follow=True)
    assert response.redirect_chain == [(f"/jobs/?task={fatal}", 302)]
    assert _messages(response) == [f"Replayed 2 dead letters of {fatal}."]
    statuses = dict(DeadLetter.objects.values_list("pk", "status"))
    assert [statuses[letter.pk] for letter in counted] == ["replayed", "replayed"]
    assert statuses[late[0].pk] == "dead" and list(statuses.values()).count("dead") == 4  # late, noop ×2, bravo
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [fatal, fatal]
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["dead_letter.replay"] * 2

    response = client.post("/jobs/dead-letters/replay/", {}, follow=True)  # no filter: every open one of alpha
    assert _messages(response) == ["Replayed 3 dead letters."]
    assert list(DeadLetter.objects.filter(status="dead").values_list("organization", flat=True)) == [
        world.bravo.organization.pk]
    before = database_state()
    refused = client.post("/jobs/dead-letters/replay/", {"through": "many"}, follow=True)
    assert _messages(refused) == ["That replay was not understood. Nothing was replayed."]
    assert database_state() == before
