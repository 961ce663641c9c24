"""Settings for the test suite: fast hashing, plain static files, a clean data dir."""

import os
import tempfile

os.environ.setdefault("STOCKTRACE_DATA_DIR", tempfile.mkdtemp(prefix="stocktrace-test-"))
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789abcdef")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"level": "WARNING", "format": "console"}
ALLOWED_HOSTS = ["*"]
STOCKTRACE_OUTBOUND_ALLOW_PRIVATE = True  # the tests' receivers listen on 127.0.0.1
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (WhiteNoise warns without it)
DATABASES["default"].setdefault("TEST", {})  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory, so worker processes started by the tests share the test database.
    DATABASES["default"]["TEST"]["NAME"] = str(DATA_DIR / "test.sqlite3")  # noqa: F405
