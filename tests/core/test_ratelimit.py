import multiprocessing

import pytest
from django.core.cache import caches

from stocktrace.core import ratelimit


def test_fixed_window_counts_and_resets():
    verdicts = [ratelimit.hit("k", limit=2, window_seconds=60, now=1000.0 + i) for i in range(3)]
    assert [(v.allowed, v.count) for v in verdicts] == [(True, 1), (True, 2), (False, 3)]
    assert verdicts[2].retry_after == 1020 - 1002
    fresh = ratelimit.hit("k", limit=2, window_seconds=60, now=1020.0)
    assert (fresh.allowed, fresh.count) == (True, 1)
    assert ratelimit.hit("other", limit=2, window_seconds=60, now=1002.0).count == 1


def _hammer(data_dir: str, hits: int) -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DATA_DIR = data_dir
    for _ in range(hits):
        ratelimit.hit("shared", limit=10_000, window_seconds=3600, now=7200.0)


@pytest.mark.slow  # starts processes
def test_file_counter_is_exact_across_processes(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(str(tmp_path), 300)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert ratelimit.hit("shared", limit=10_000, window_seconds=3600, now=7200.0).count == 901


@pytest.fixture
def redis_cache(settings):
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.REDIS_URL, "KEY_PREFIX": "test-ratelimit"}}
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_redis_counter_counts_the_same(redis_cache):
    import redis

    verdicts = [ratelimit.hit("r", limit=2, window_seconds=60, now=5000.0) for _ in range(3)]
    assert [v.count for v in verdicts] == [1, 2, 3] and not verdicts[2].allowed
    # The window's counter expires by itself, a little after the window (set once, by the first hit).
    assert 60 <= redis.Redis.from_url("redis://127.0.0.1:6379/15").ttl("stocktrace:ratelimit:r:4980") <= 65
