import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from stocktrace.core.errors import Conflict
from stocktrace.jobs.cron import Cron, CronError
from stocktrace.jobs.models import DeadLetter, JobFailure, PeriodicSchedule, WorkerHeartbeat
from stocktrace.jobs.registry import SCHEDULES, RetryPolicy, Schedule
from stocktrace.jobs.selectors import job_stats
from stocktrace.jobs.services import dead_letter_discard, dead_letter_replay, jobs_prune
from stocktrace.jobs.tasks import noop
from stocktrace.jobs.worker import StocktraceWorker, periodic_enqueue_due, periodic_sync, sweep_lost_jobs
from tests import job_fixtures
from tests.job_fixtures import Clock, run_worker
from tests.processes import skip_without_database_file, stocktrace, wait_until

pytestmark = pytest.mark.usefixtures("worker_keeps_the_test_transaction")


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def test_cron_parsing_and_next_run():
    every_five = Cron.parse("*/5 * * * *")
    assert every_five.next_after(datetime(2026, 1, 1, 10, 3, 30, tzinfo=UTC)) == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    assert every_five.next_after(datetime(2026, 1, 1, 10, 5, tzinfo=UTC)) == datetime(2026, 1, 1, 10, 10, tzinfo=UTC)
    nightly = Cron.parse("17 3 * * *")
    assert nightly.next_after(datetime(2026, 1, 1, 3, 17, tzinfo=UTC)) == datetime(2026, 1, 2, 3, 17, tzinfo=UTC)
    weekdays = Cron.parse("0 8 * * 1-5")
    assert weekdays.next_after(datetime(2026, 1, 2, 9, 0, tzinfo=UTC)) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    sunday = Cron.parse("0 0 * * 7")
    assert sunday.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 1, 4, tzinfo=UTC)
    assert Cron.parse("5/15 * * * *").minutes == frozenset({5, 20, 35, 50})
    leap = Cron.parse("0 0 29 2 *")
    assert leap.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2028, 2, 29, tzinfo=UTC)
    for bad in ["* * * *", "60 * * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *"]:
        with pytest.raises(CronError):
            Cron.parse(bad)


def test_backoff_doubles_caps_and_spreads():
    policy = RetryPolicy(base_delay=10, max_delay=60, jitter=0.5)
    assert [policy.delay(n, rand=lambda: 0.5) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert policy.delay(1, rand=lambda: 0.0) == 5
    assert policy.delay(1, rand=lambda: 1.0) == 15


@pytest.mark.django_db(transaction=True)
def test_enqueue_rolls_back_with_its_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        noop.enqueue(n=1)
        raise RuntimeError("business write failed")
    assert not DBTaskResult.objects.exists()
    with transaction.atomic():
        noop.enqueue(n=2)
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_each_result_is_recorded_with_the_next_claim_and_the_last_when_the_worker_stops(django_assert_num_queries):
    from django.db import connection

    first, second, third = (noop.enqueue(n=n) for n in (1, 2, 3))
    run_worker(max_tasks=2)  # stops after two jobs: the second's result must not wait for a third claim
    rows = {str(row.pk): row for row in DBTaskResult.objects.all()}
    assert [(rows[r.id].status, rows[r.id].return_value) for r in (first, second, third)] == [
        ("SUCCESSFUL", 1), ("SUCCESSFUL", 2), ("READY", None)]
    # PostgreSQL: one statement a job (the result rides in the next claim) plus the last claim, which finds
    # nothing. SQLite: a claim and a result a job, plus the last claim.
    worker = StocktraceWorker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                              max_tasks=None, worker_id="counted", excluded_queue_names=[], heartbeat_seconds=60,
                              lease_seconds=60, schedule=False)
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3):
        worker._loop()
    assert DBTaskResult.objects.get(pk=third.id).return_value == 3


@pytest.mark.django_db
def test_retries_wait_for_the_backoff_then_succeed(clock, tmp_path):
    result = job_fixtures.fail_until.enqueue(str(tmp_path / "n"), 3)
    run_worker()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY
    assert row.run_after == clock.now + timedelta(seconds=10)
    run_worker()  # not due yet: nothing runs
    assert (tmp_path / "n").read_text() == "1"
    clock.advance(seconds=10)
    run_worker()
    row.refresh_from_db()
    assert row.run_after == clock.now + timedelta(seconds=20)
    clock.advance(seconds=20)
    run_worker()
    row.refresh_from_db()
    assert (row.status, row.return_value) == (TaskResultStatus.SUCCESSFUL, 3)
    failures = list(JobFailure.objects.order_by("attempt"))
    assert [(f.attempt, f.retried, f.exception_class) for f in failures] == [
        (1, True, "tests.job_fixtures.Flaky"), (2, True, "tests.job_fixtures.Flaky")]
    assert "attempt 1" in failures[0].traceback
    assert not DeadLetter.objects.exists()


@pytest.mark.django_db
def test_dead_lettered_after_max_attempts_with_every_error(clock, tmp_path, world):
    job_fixtures.fail_until.enqueue(str(tmp_path / "n"), 99, organization_id=world.alpha.organization.pk)
    first = clock.now
    for wait in (10, 20):
        run_worker()
        clock.advance(seconds=wait)
    run_worker()
    letter = DeadLetter.objects.get()
    assert (letter.attempts, letter.status, letter.organization_id) == (3, "dead", world.alpha.organization.pk)
    assert (letter.first_failed_at, letter.last_failed_at) == (first, clock.now)
    assert letter.args_kwargs["args"] == [str(tmp_path / "n"), 99]
    assert "Flaky: attempt 3" in letter.last_error
    assert JobFailure.objects.filter(task_id=letter.task_id).count() == 3
    assert DBTaskResult.objects.get(pk=letter.task_id).status == TaskResultStatus.FAILED


@pytest.mark.django_db
def test_errors_that_cannot_be_retried_die_at_once(clock):
    job_fixtures.fatal.enqueue()
    run_worker()
    assert DeadLetter.objects.get().attempts == 1


@pytest.mark.django_db
def test_replay_runs_the_job_again_once_and_discard_closes(clock, tmp_path, world):
    actor = world.alpha.actor()
    job_fixtures.fail_until.enqueue(str(tmp_path / "n"), 4, organization_id=world.alpha.organization.pk)
    for wait in (10, 20, 0):
        run_worker()
        clock.advance(seconds=wait)
    letter = DeadLetter.objects.get()
    replayed = dead_letter_replay(actor=actor, dead_letter=letter)
    assert replayed.status == "replayed" and replayed.resolved_by == actor.user
    with pytest.raises(Conflict):
        dead_letter_replay(actor=actor, dead_letter=letter)
    run_worker()
    assert DBTaskResult.objects.get(pk=replayed.replay_task_id).return_value == 4
    job_fixtures.fatal.enqueue(organization_id=world.alpha.organization.pk)
    run_worker()
    other = DeadLetter.objects.get(status="dead")
    assert dead_letter_discard(actor=actor, dead_letter=other).status == "discarded"
    from stocktrace.audit.models import AuditEvent

    assert list(AuditEvent.objects.filter(action__startswith="dead_letter.").values_list("action", flat=True)
                .order_by("pk")) == ["dead_letter.replay", "dead_letter.discard"]


@pytest.mark.django_db
def test_sweeper_retries_jobs_of_silent_workers_only(clock):
    lost = job_fixtures.fail_until.enqueue("unused", 1)  # retries only Flaky, but a lost worker is retried too
    kept = noop.enqueue(n=2)
    WorkerHeartbeat.objects.create(worker_id="alive", hostname="h", pid=1, queues="*", started_at=clock.now,
                                   last_seen_at=clock.now)
    DBTaskResult.objects.filter(pk=lost.id).update(status="RUNNING", started_at=clock.now, worker_ids=["gone"])
    DBTaskResult.objects.filter(pk=kept.id).update(status="RUNNING", started_at=clock.now, worker_ids=["alive"])
    assert sweep_lost_jobs(lease_seconds=60) == 0  # within the lease
    clock.advance(seconds=61)
    WorkerHeartbeat.objects.filter(worker_id="alive").update(last_seen_at=clock.now)
    assert sweep_lost_jobs(lease_seconds=60) == 1
    assert DBTaskResult.objects.get(pk=lost.id).status == "READY"
    assert DBTaskResult.objects.get(pk=kept.id).status == "RUNNING"
    assert JobFailure.objects.get().exception_class == "stocktrace.jobs.registry.WorkerLost"


def test_a_worker_refuses_a_lease_shorter_than_three_heartbeats():
    from django.core.management import call_command

    with pytest.raises(CommandError, match=r"lease of 10 s is shorter than 3 heartbeats of 5 s \(15 s\)"):
        call_command("worker", "--lease", "10", "--batch")
    with pytest.raises(CommandError, match=r"Use --lease 6 or more"):
        call_command("worker", "--processes", "2", "--heartbeat", "2", "--lease", "5.9", "--batch")


@pytest.mark.django_db
def test_a_sweep_by_hand_refuses_a_lease_shorter_than_three_heartbeats(capsys):
    from django.core.management import call_command

    with pytest.raises(CommandError, match=r"lease of 14 s is shorter than 3 heartbeats of 5 s"):
        call_command("jobs", "sweep", "--lease", "14")  # the workers' default heartbeat
    with pytest.raises(CommandError, match=r"shorter than 3 heartbeats of 25 s"):
        call_command("jobs", "sweep", "--heartbeat", "25")  # the default lease, with a fleet beating slowly
    call_command("jobs", "sweep", "--lease", "15")
    call_command("jobs", "sweep", "--lease", "0.6", "--heartbeat", "0.2")
    assert capsys.readouterr().out == "swept 0\nswept 0\n"


@pytest.fixture
def every_minute_schedule(monkeypatch):
    monkeypatch.setitem(SCHEDULES, "test.noop", Schedule(name="test.noop", cron=Cron.parse("* * * * *"), task=noop))
    for name in list(SCHEDULES):
        if name != "test.noop":
            monkeypatch.delitem(SCHEDULES, name)


@pytest.mark.django_db
def test_periodic_jobs_are_enqueued_once_per_period(clock, every_minute_schedule):
    periodic_sync()
    assert periodic_enqueue_due() == []  # next minute not reached
    clock.advance(minutes=1)
    assert periodic_enqueue_due() == ["test.noop"]
    assert periodic_enqueue_due() == []  # a second scheduler in the same minute
    clock.advance(minutes=10)  # down for ten minutes: one enqueue, not ten
    assert periodic_enqueue_due() == ["test.noop"]
    assert DBTaskResult.objects.count() == 2
    assert PeriodicSchedule.objects.get().next_run_at == clock.now.replace(second=0) + timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_enqueue_once(every_minute_schedule):
    periodic_sync()
    PeriodicSchedule.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))
    barrier = threading.Barrier(2)
    outcomes = []

    def schedule():
        barrier.wait()
        try:
            outcomes.append(periodic_enqueue_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=schedule) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [[], ["test.noop"]]
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_stats_count_per_task_and_queue(clock, tmp_path, world):
    org = world.alpha.organization.pk
    for n in range(3):
        noop.enqueue(n=n, organization_id=org)
    job_fixtures.fatal.enqueue(organization_id=org)
    noop.enqueue(n=9, organization_id=world.bravo.organization.pk)
    run_worker()
    noop.enqueue(n=4, organization_id=org)
    stats = job_stats(organization=world.alpha.organization)
    by_task = {row["task"]: row for row in stats["windows"]["hour"]}
    assert by_task["stocktrace.jobs.tasks.noop"]["succeeded"] == 3
    assert by_task["tests.job_fixtures.fatal"] | {"failed_attempts": 1, "dead": 1, "retries": 0} == \
        by_task["tests.job_fixtures.fatal"]
    assert stats["queues"] == [{"queue": "default", "ready": 1, "due": 1, "running": 0, "oldest_due_age_s": 0.0}]
    everything = job_stats()
    assert {r["task"]: r["succeeded"] for r in everything["windows"]["day"]}["stocktrace.jobs.tasks.noop"] == 4


@pytest.mark.django_db
def test_readiness_fails_when_jobs_wait_without_workers(clock, settings):
    settings.STOCKTRACE_WORKER_STALE_SECONDS = 60
    noop.enqueue(n=1)
    assert Client().get("/readyz").json()["components"]["workers"]["status"] == "ok"  # just enqueued
    clock.advance(seconds=61)
    body = Client().get("/readyz").json()
    assert body["components"]["workers"]["status"] == "fail" and body["status"] == "fail"
    WorkerHeartbeat.objects.create(worker_id="w", hostname="h", pid=1, queues="*", started_at=clock.now,
                                   last_seen_at=clock.now)
    assert Client().get("/readyz").status_code == 200


@pytest.mark.django_db
def test_prune_keeps_unresolved_dead_letters(clock):
    noop.enqueue(n=1)
    job_fixtures.fatal.enqueue()
    run_worker()
    clock.advance(days=30)
    counts = jobs_prune(older_than_days=14)
    assert counts["results"] == 1
    assert DBTaskResult.objects.count() == 1 and DeadLetter.objects.count() == 1



def _worker_process(*args):
    return stocktrace("worker", "--no-scheduler", "--interval", "0.05", "--heartbeat", "0.2", *args)

@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_job_is_completed_once_by_another(tmp_path):
    skip_without_database_file()
    result = job_fixtures.slow_first_time.enqueue(str(tmp_path))
    first = _worker_process("--lease", "1")
    try:
        wait_until(lambda: (tmp_path / "started").exists())
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    assert DBTaskResult.objects.get(pk=result.id).status == "RUNNING"
    second = _worker_process("--lease", "1")
    try:
        wait_until(lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
    assert (tmp_path / "done").read_text() == "done\n"
    failure = JobFailure.objects.get(task_id=result.id)
    assert failure.exception_class == "stocktrace.jobs.registry.WorkerLost"
    assert DBTaskResult.objects.get(pk=result.id).worker_ids[-1] != DBTaskResult.objects.get(
        pk=result.id).worker_ids[0]


@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.django_db(transaction=True)
def test_a_second_stop_signal_interrupts_the_job_which_is_retried_then_dead_on_its_last_attempt(tmp_path):
    skip_without_database_file()
    result = job_fixtures.hang.enqueue(str(tmp_path))  # two attempts

    def stop_twice_while_running(attempt: int) -> None:
        worker = stocktrace("worker", "--no-scheduler", "--interval", "0.05", "--heartbeat", "0.2",
                            stderr=subprocess.PIPE, text=True)
        log: list[str] = []
        reader = threading.Thread(target=lambda: log.extend(worker.stderr), daemon=True)
        reader.start()
        try:
            wait_until(lambda: (tmp_path / f"attempt-{attempt}").exists())
            worker.send_signal(signal.SIGTERM)
            # Two signals Python has not handled yet count as one: wait until the first was taken.
            wait_until(lambda: any("shutting down gracefully" in line for line in log))
            assert DBTaskResult.objects.get(pk=result.id).status == "RUNNING"  # the first lets the job run on
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 1
        finally:
            worker.kill()
            reader.join(timeout=10)

    for attempt in (1, 2):
        stop_twice_while_running(attempt)
        failure = JobFailure.objects.get(task_id=result.id, attempt=attempt)
        assert (failure.exception_class, failure.message) == ("stocktrace.jobs.registry.WorkerLost",
                                                              "worker stopped during the job")
        row = DBTaskResult.objects.get(pk=result.id)
        if attempt == 1:
            assert failure.retried and row.status == "READY"
            assert not DeadLetter.objects.exists()
    assert not failure.retried and row.status == "FAILED"
    letter = DeadLetter.objects.get(task_id=result.id)
    assert (letter.attempts, letter.last_error) == (
        2, "stocktrace.jobs.registry.WorkerLost: worker stopped during the job")


@pytest.mark.django_db
def test_the_jobs_command_lists_shows_replays_and_discards_dead_letters(clock, capsys):
    from django.core.management import call_command

    job_fixtures.fatal.enqueue()
    job_fixtures.fatal.enqueue()
    noop.enqueue(n=1)
    run_worker()
    first, second = DeadLetter.objects.order_by("pk")
    call_command("jobs", "dlq", "list")
    listing = capsys.readouterr().out
    assert f"{first.pk:>6} dead" in listing and "Fatal: cannot ever work" in listing
    call_command("jobs", "dlq", "show", str(first.pk))
    shown = json.loads(capsys.readouterr().out)
    assert shown["attempts"][0]["error"] == "tests.job_fixtures.Fatal: cannot ever work"
    assert "raise Fatal" in shown["attempts"][0]["traceback"]
    call_command("jobs", "dlq", "replay", str(first.pk))
    call_command("jobs", "dlq", "discard", str(second.pk))
    assert list(DeadLetter.objects.order_by("pk").values_list("status", flat=True)) == ["replayed", "discarded"]
    with pytest.raises(CommandError, match="replayed already"):
        call_command("jobs", "dlq", "replay", str(first.pk))
    run_worker()  # the replayed job dies again: a new dead letter for the new job
    call_command("jobs", "dlq", "replay", "--all", "--task", "tests.job_fixtures.fatal")
    assert "replayed 1" in capsys.readouterr().out
    call_command("jobs", "stats", "--json")
    stats = json.loads(capsys.readouterr().out)
    assert {row["task"] for row in stats["windows"]["hour"]} == {"tests.job_fixtures.fatal",
                                                             "stocktrace.jobs.tasks.noop"}
    with pytest.raises(CommandError, match="No dead letter"):
        call_command("jobs", "dlq", "show", "999999")


@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.django_db(transaction=True)
def test_worker_processes_share_the_queue_and_run_each_job_once(tmp_path):
    for n in range(40):
        noop.enqueue(n=n)
    workers = stocktrace("worker", "--processes", "2", "--batch", "--no-scheduler")
    assert workers.wait(timeout=120) == 0
    results = DBTaskResult.objects.all()
    assert sorted(r.return_value for r in results) == list(range(40))
    assert all(len(r.worker_ids) == 1 for r in results)


@pytest.mark.django_db
def test_a_stop_signal_just_after_the_heartbeat_is_written_still_removes_it(monkeypatch):
    """The stop handler exits at once while no job runs (SystemExit): arriving right after the heartbeat was
    written, it left a heartbeat behind, of a worker that was gone."""
    import stocktrace.jobs.worker as worker_module

    def stopped():
        assert WorkerHeartbeat.objects.filter(worker_id="stopped").exists()
        raise SystemExit(0)  # what the SIGTERM handler raises

    monkeypatch.setattr(worker_module, "periodic_sync", stopped)
    worker = StocktraceWorker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                              max_tasks=None, worker_id="stopped", excluded_queue_names=[], heartbeat_seconds=60,
                              lease_seconds=60, schedule=True)
    with pytest.raises(SystemExit):
        worker.run()
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.slow  # starts stocktrace processes
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_that_dies_is_started_again_and_a_stop_ends_them_all():
    supervisor = stocktrace("worker", "--processes", "2", "--no-scheduler", "--interval", "0.2", "--heartbeat", "0.5",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def pids() -> set[int]:
            return set(WorkerHeartbeat.objects.values_list("pid", flat=True))

        deadline = time.monotonic() + 60
        while len(pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        first = pids()
        assert len(first) == 2
        victim = min(first)
        os.kill(victim, signal.SIGKILL)  # as the kernel's OOM killer would
        while len(pids() - first) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(pids() - first) == 1, "no worker was started in place of the dead one"
        supervisor.send_signal(signal.SIGTERM)
        _, errors = supervisor.communicate(timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert supervisor.returncode == 0
    assert f"worker process {victim} exited with -9; starting another in 1 s" in errors
    assert pids() == {victim}  # the two running workers removed their heartbeats on the way out
