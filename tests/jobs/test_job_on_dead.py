"""`@job(on_dead=...)`: called once a job is dead-lettered, by whatever path, inside the dead letter's
transaction; a callback that fails does not stop the dead letter."""

from datetime import UTC, datetime

import pytest
from django_tasks_db.models import DBTaskResult

from stocktrace.jobs.models import DeadLetter, WorkerHeartbeat
from stocktrace.jobs.registry import RetryPolicy, job, on_dead_for
from stocktrace.jobs.worker import sweep_lost_jobs
from tests.job_fixtures import Clock, run_worker

CALLS: list[tuple] = []


class Hopeless(Exception):
    pass


def _record(error, *args, **kwargs):
    CALLS.append((type(error).__name__, str(error), args, kwargs))


def _write_then_fail(error, *args, **kwargs):
    WorkerHeartbeat.objects.create(worker_id="written-by-the-callback", hostname="h", pid=1, queues="*",
                                   started_at=datetime(2026, 1, 1, tzinfo=UTC),
                                   last_seen_at=datetime(2026, 1, 1, tzinfo=UTC))
    raise RuntimeError("the callback is broken")


@job(retry=RetryPolicy(max_attempts=2, base_delay=10, jitter=0, give_up_on=(Hopeless,)), on_dead=_record)
def doomed(label: str, hopeless: bool = False) -> None:
    raise (Hopeless if hopeless else RuntimeError)(label)


@job(retry=RetryPolicy(max_attempts=1), on_dead=_write_then_fail)
def doomed_with_a_broken_callback() -> None:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    import stocktrace.jobs.worker as worker_module

    monkeypatch.setattr(worker_module, "close_old_connections", lambda: None)
    CALLS.clear()


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def test_the_callback_is_registered_by_task_path():
    assert on_dead_for(doomed.module_path) is _record
    assert on_dead_for("stocktrace.jobs.tasks.noop") is None


@pytest.mark.django_db
def test_called_when_an_error_gives_up_at_once(clock):
    doomed.enqueue("a", hopeless=True)
    run_worker()
    assert CALLS == [("Hopeless", "a", ("a",), {"hopeless": True})]
    assert DeadLetter.objects.get().attempts == 1


@pytest.mark.django_db
def test_called_once_after_the_last_attempt_not_on_retries(clock):
    doomed.enqueue(label="b")
    run_worker()
    assert CALLS == [] and not DeadLetter.objects.exists()
    clock.advance(seconds=10)
    run_worker()
    assert CALLS == [("RuntimeError", "b", (), {"label": "b"})]
    assert DeadLetter.objects.get().attempts == 2


@pytest.mark.django_db
def test_called_when_the_sweeper_dead_letters_a_lost_workers_last_attempt(clock):
    result = doomed.enqueue(label="c")
    DBTaskResult.objects.filter(pk=result.id).update(status="RUNNING", started_at=clock.now,
                                                     worker_ids=["gone-1", "gone-2"])
    clock.advance(seconds=61)
    assert sweep_lost_jobs(lease_seconds=60) == 1
    assert CALLS == [("WorkerLost", "worker gone-2 stopped sending heartbeats", (), {"label": "c"})]
    assert str(DeadLetter.objects.get().task_id) == str(result.id)


@pytest.mark.django_db
def test_a_failing_callback_is_rolled_back_and_the_dead_letter_kept(clock, caplog):
    result = doomed_with_a_broken_callback.enqueue()
    run_worker()
    assert str(DeadLetter.objects.get().task_id) == str(result.id)
    assert DBTaskResult.objects.get(pk=result.id).status == "FAILED"
    assert not WorkerHeartbeat.objects.filter(worker_id="written-by-the-callback").exists()
    assert "on_dead callback" in caplog.text and "the callback is broken" in caplog.text
