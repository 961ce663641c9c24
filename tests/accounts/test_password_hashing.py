"""Password hashing (ADR 0012): OWASP's Argon2id parameters, old hashes upgraded at sign-in, and at most
STOCKTRACE_PASSWORD_HASH_CONCURRENCY hashes (each holding 19 MiB) at a time per process.

The rest of the suite hashes with MD5 for speed; these tests switch to the production hashers."""

import functools
import threading
from pathlib import Path

import argon2
import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    PBKDF2PasswordHasher,
    check_password,
    identify_hasher,
    make_password,
)
from django.test import Client

import config.settings as production
from stocktrace.accounts import hashers
from stocktrace.accounts.hashers import Argon2idHasher
from stocktrace.core.errors import RateLimited
from stocktrace.tenancy.roles import Role
from tests.conftest import api
from tests.factories import PASSWORD

OWASP_PREFIX = "argon2$argon2id$v=19$m=19456,t=2,p=1$"
MIB = 1024 * 1024


@pytest.fixture
def real_hashers(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    settings.STOCKTRACE_PASSWORD_HASH_CONCURRENCY = 2
    settings.STOCKTRACE_PASSWORD_HASH_WAIT_SECONDS = 10


@functools.cache
def old_hash(kind: str) -> str:
    """A hash as stocktrace stored them before: Django's default Argon2 (m=102400, t=2, p=8), or PBKDF2."""
    if kind == "django-argon2":
        return Argon2PasswordHasher().encode(PASSWORD, "oldsaltoldsaltoldsalt1")
    return PBKDF2PasswordHasher().encode(PASSWORD, "oldsaltoldsaltoldsalt1", iterations=1000)


def test_production_lists_one_argon2_hasher_ours_first_and_the_tests_use_md5(settings):
    assert production.PASSWORD_HASHERS[0] == "stocktrace.accounts.hashers.Argon2idHasher"
    # Django's own Argon2 hasher has the same name ("argon2"): listed too, it would verify in place of ours.
    assert "django.contrib.auth.hashers.Argon2PasswordHasher" not in production.PASSWORD_HASHERS
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_password_is_hashed_with_owasp_argon2id_parameters_and_verifies(real_hashers, world):
    user = world.alpha.user(Role.COUNTER)
    user.set_password("a new password, quite long")
    user.save()
    assert user.password.startswith(OWASP_PREFIX)
    assert isinstance(identify_hasher(user.password), Argon2idHasher)
    user.refresh_from_db()
    assert user.check_password("a new password, quite long")
    assert not user.check_password("a wrong password")
    assert not Argon2idHasher().must_update(user.password)


@pytest.mark.parametrize("kind", ["django-argon2", "pbkdf2"])
@pytest.mark.parametrize("via", ["page", "api"])
def test_an_old_hash_signs_in_and_is_rehashed_to_the_new_parameters(real_hashers, world, via, kind):
    user = world.alpha.user(Role.COUNTER)
    user.password = old_hash(kind)
    user.save(update_fields=["password"])
    assert kind == "pbkdf2" or Argon2idHasher().must_update(user.password)

    client = Client()
    if via == "page":
        response = client.post("/login/", {"username": user.email, "password": PASSWORD})
        assert response.status_code == 302
    else:
        response = api(client, "POST", "/auth/login", {"email": user.email, "password": PASSWORD})
        assert response.status_code == 200

    user.refresh_from_db()
    assert user.password.startswith(OWASP_PREFIX)
    assert check_password(PASSWORD, user.password)
    # The session was started after the rehash, so it stays valid with the new hash.
    assert client.get("/").status_code == 200


def test_a_wrong_password_leaves_an_old_hash_alone(real_hashers, world):
    user = world.alpha.user(Role.COUNTER)
    user.password = old_hash("django-argon2")
    user.save(update_fields=["password"])
    assert api(Client(), "POST", "/auth/login", {"email": user.email, "password": "wrong"}).status_code == 401
    user.refresh_from_db()
    assert user.password == old_hash("django-argon2")


def test_the_password_page_rehashes_without_ending_the_session(real_hashers, world):
    """The current password, checked by the form, is rehashed even when the new ones do not match; the session
    (whose check value derives from the stored hash) must survive that."""
    user = world.alpha.user(Role.COUNTER)
    user.password = old_hash("django-argon2")
    user.save(update_fields=["password"])
    client = Client()
    client.force_login(user)
    response = client.post("/password/", {"old_password": PASSWORD, "new_password1": "one new password",
                                          "new_password2": "another new password"})
    assert response.status_code == 200  # the form, with its error
    user.refresh_from_db()
    assert user.password.startswith(OWASP_PREFIX)
    assert client.get("/").status_code == 200


def _peak_rss_reset() -> int | None:
    """Reset the process's peak RSS (VmHWM) to its current RSS and return that, in bytes; None where Linux's
    /proc/self/clear_refs is not available."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_bytes("VmRSS")


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def test_concurrent_sign_ins_hash_at_most_n_at_a_time_on_n_threads(real_hashers, monkeypatch):
    """8 threads hash and verify at once with a limit of 2: never more than 2 hashes run together, only 2
    threads ever allocate Argon2's memory, and the process's peak memory grows by about 2 × 19 MiB."""
    stored = make_password(PASSWORD)
    active = 0
    seen_max = 0
    hashing_threads: set[int] = set()
    two_inside = threading.Event()
    counter_lock = threading.Lock()

    def guarded(original):
        def wrapper(*args, **kwargs):
            nonlocal active, seen_max
            with counter_lock:
                active += 1
                seen_max = max(seen_max, active)
                hashing_threads.add(threading.get_ident())
                if active == 2:
                    two_inside.set()
            try:
                # The first hash waits until a second one runs beside it (the limit allows 2), so a wrong limit
                # shows up as a count, not as a timing.
                two_inside.wait(timeout=5)
                return original(*args, **kwargs)
            finally:
                with counter_lock:
                    active -= 1
        return wrapper

    monkeypatch.setattr(argon2.low_level, "hash_secret", guarded(argon2.low_level.hash_secret))
    monkeypatch.setattr(argon2.PasswordHasher, "verify", guarded(argon2.PasswordHasher.verify))

    results: list[object] = []
    start = threading.Barrier(8)

    def sign_in(n: int) -> None:
        start.wait(timeout=10)
        if n % 2:
            results.append(check_password(PASSWORD, stored))
        else:
            results.append(make_password(PASSWORD).startswith(OWASP_PREFIX))

    baseline = _peak_rss_reset()
    threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == [True] * 8
    assert seen_max == 2
    assert len(hashing_threads) <= 2
    assert threading.get_ident() not in hashing_threads
    if baseline is not None:
        # Unbounded, 8 × 19 MiB (and, with a semaphore in the callers' threads, ~150 MiB kept by their malloc
        # arenas). Slack for the threads' stacks and the interpreter.
        assert _status_bytes("VmHWM") - baseline < 2 * 19 * MIB + 16 * MIB


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_sign_in_that_waits_too_long_for_a_slot_is_429_not_a_failed_login(real_hashers, settings, world, via):
    settings.STOCKTRACE_PASSWORD_HASH_CONCURRENCY = 1
    settings.STOCKTRACE_PASSWORD_HASH_WAIT_SECONDS = 0.05
    release = threading.Event()
    busy = hashers._hashing_pool().submit(release.wait, 10)  # the only slot is taken
    try:
        with pytest.raises(RateLimited):
            make_password(PASSWORD)
        email = world.alpha.user(Role.COUNTER).email
        if via == "page":
            response = Client().post("/login/", {"username": email, "password": PASSWORD})
        else:
            response = api(Client(), "POST", "/auth/login", {"email": email, "password": PASSWORD})
        assert response.status_code == 429
        assert response["Retry-After"] == "5"
        assert not AccessAttempt.objects.exists()  # the lockout counted nothing
    finally:
        release.set()
        busy.result(timeout=10)
