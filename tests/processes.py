"""Running stocktrace commands as separate processes on the test database, for the tests that stop them
(SIGKILL, SIGTERM, …) in the middle of their work. Those tests use `django_db(transaction=True)`, so the
processes see what the test wrote."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

# The test running now (set by tests/conftest.py): a test that starts processes must be marked slow.
CURRENT_TEST: pytest.Item | None = None


def _require_slow_marker() -> None:
    if CURRENT_TEST is not None and CURRENT_TEST.get_closest_marker("slow") is None:
        raise AssertionError(f"{CURRENT_TEST.nodeid} starts stocktrace processes: mark it @pytest.mark.slow, "
                             "so a quick run (-m 'not slow') can leave it out")


def skip_without_database_file() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(("file:", ":memory:")):
        pytest.skip("needs a database file another process can open")


def test_database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def stocktrace(*args: str, **popen) -> subprocess.Popen:
    """`stocktrace <args>` on the test database."""
    _require_slow_marker()
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "PYTHONPATH": str(ROOT)}
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-m", "stocktrace.cli", *args], cwd=ROOT, env=env, **popen)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def serve(port: int) -> subprocess.Popen:
    """`stocktrace serve` in a process group of its own (so its workers die with it), once it answers."""
    server = stocktrace("serve", "--port", str(port), "--workers", "1", "--threads", "4", "--no-migrate-check",
                        start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                kill_group(server)
                raise AssertionError("stocktrace serve did not start") from None
            time.sleep(0.1)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL for the process and everything it started, as a power cut would."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def post(url: str, body: bytes, headers: dict) -> int | None:
    """POST over HTTP; the status, or None when the server did not answer (killed, refused)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def stream_until_killed(server: subprocess.Popen, send, *, accepted: int, enough: int,
                        lanes: int = 4) -> dict[str, int | None]:
    """`lanes` threads call `send(reference)` with references `lane<L>-<N>` as fast as they can; once `enough`
    answers are `accepted` (a status), the server is killed (SIGKILL, its whole group) mid-stream. Returns each
    reference's answer (None: no answer)."""
    answers: dict[str, int | None] = {}
    stop = threading.Event()

    def lane(number: int) -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            reference = f"lane{number}-{n}"
            answers[reference] = send(reference)

    threads = [threading.Thread(target=lane, args=(number,)) for number in range(lanes)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: sum(status == accepted for status in list(answers.values())) >= enough)
        kill_group(server)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        kill_group(server)
    return answers
