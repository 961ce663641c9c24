"""stocktrace settings: everything comes from the environment.

With nothing set, stocktrace runs on an embedded SQLite database under the
data directory (./var by default) and keeps its own generated secret key there.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DATA_DIR = Path(os.environ.get("STOCKTRACE_DATA_DIR", "var")).resolve()


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "ninja",
    "django_tasks",
    "django_tasks_db",
]

# stocktrace's own apps, by layer from the bottom (docs/architecture.md). Each one's tasks, events, inbound
# handlers, permissions, API routes and pages are found by convention: adding a domain is one line here.
STOCKTRACE_APPS = [
    "stocktrace.core",
    "stocktrace.tenancy",
    "stocktrace.web",
    "stocktrace.audit",
    "stocktrace.events",
    "stocktrace.accounts",
    "stocktrace.jobs",
    "stocktrace.inventory",
    "stocktrace.counts",
    "stocktrace.webhooks",
    "stocktrace.imports",
    "stocktrace.ops",
]
INSTALLED_APPS += STOCKTRACE_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "stocktrace.core.middleware.RequestLogMiddleware",
    "stocktrace.core.middleware.RefuseNulMiddleware",
    "stocktrace.core.middleware.ProblemFallbackMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "stocktrace.web.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "stocktrace.web.context.navigation",
            ],
        },
    }
]


def _databases() -> dict:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'stocktrace.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    return {"default": config}


DATABASES = _databases()
# The hot-path statements (job claims, webhook intake, ledger postings) are prepared on the server. Turn off
# behind a transaction-pooling PgBouncer older than 1.21, which cannot keep prepared statements.
STOCKTRACE_DB_PREPARE = env_bool("STOCKTRACE_DB_PREPARE", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background jobs: django-tasks on the database (SQLite or PostgreSQL), run by `stocktrace worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
# /readyz fails when jobs wait and no worker has sent a heartbeat for this long.
STOCKTRACE_WORKER_STALE_SECONDS = int(os.environ.get("STOCKTRACE_WORKER_STALE_SECONDS", "120"))
STOCKTRACE_JOB_RESULT_DAYS = int(os.environ.get("STOCKTRACE_JOB_RESULT_DAYS", "14"))
# Outbound webhooks: per-request timeout, and whether subscriptions may point at private or loopback
# addresses. Off by default, so no tenant admin can make the server call into its own network; turn it
# on for integrations that live on the company's internal network.
STOCKTRACE_OUTBOUND_TIMEOUT_SECONDS = float(os.environ.get("STOCKTRACE_OUTBOUND_TIMEOUT_SECONDS", "10"))
STOCKTRACE_OUTBOUND_ALLOW_PRIVATE = env_bool("STOCKTRACE_OUTBOUND_ALLOW_PRIVATE")
# Finished webhook deliveries (processed, delivered, dead) are deleted by a daily job after this many days.
STOCKTRACE_WEBHOOK_RETENTION_DAYS = int(os.environ.get("STOCKTRACE_WEBHOOK_RETENTION_DAYS", "30"))

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Argon2id at OWASP's parameters (19 MiB, t=2, p=1); it also verifies, and upgrades at sign-in, hashes made with
# Django's default Argon2 (100 MiB) or PBKDF2. Never list Django's Argon2PasswordHasher next to it: both are
# "argon2", and the later one would verify every hash without the memory bound (ADR 0012).
PASSWORD_HASHERS = [
    "stocktrace.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Password hashes run at most this many at a time per process (each Argon2 hash holds 19 MiB while it runs);
# more wait their turn, and one that waits longer than the timeout is answered 429.
STOCKTRACE_PASSWORD_HASH_CONCURRENCY = max(1, int(os.environ.get("STOCKTRACE_PASSWORD_HASH_CONCURRENCY", "2")))
STOCKTRACE_PASSWORD_HASH_WAIT_SECONDS = float(os.environ.get("STOCKTRACE_PASSWORD_HASH_WAIT_SECONDS", "10"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Login throttling: five failures for one e-mail from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Login forms and the API both pass the e-mail as `username` to authenticate().
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "stocktrace.core.net.client_ip"

# How many reverse proxies (load balancer, TLS terminator) stand in front: their X-Forwarded-For entries
# are trusted for the client address used by the audit log and the login lockout. 0 = direct.
STOCKTRACE_PROXY_COUNT = max(0, int(os.environ.get("STOCKTRACE_PROXY_COUNT", "0")))
AXES_LOCKOUT_CALLABLE = "stocktrace.web.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("STOCKTRACE_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    # HSTS preload is a commitment to the browser vendors' list; it stays the operator's opt-in.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Bodies over 1 MiB are refused with 413 (the API answers a problem document).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("STOCKTRACE_MAX_BODY_BYTES", str(1024 * 1024)))
# Import files (items, locations, opening stock) are uploaded as files, which stream to disk rather than
# memory; they have their own limit, answered with 413 past it.
STOCKTRACE_IMPORT_MAX_BYTES = int(os.environ.get("STOCKTRACE_IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "stocktrace@localhost")

STOCKTRACE_PAGE_SIZE_MAX = 200
# Lots expiring within this many days raise an `expiring` alert (daily scan).
STOCKTRACE_EXPIRY_WARNING_DAYS = int(os.environ.get("STOCKTRACE_EXPIRY_WARNING_DAYS", "30"))
STOCKTRACE_TOKEN_TOUCH_SECONDS = 60

LOGGING_CONFIG = "stocktrace.core.logging.configure"
LOGGING = {"level": os.environ.get("LOG_LEVEL", "INFO"), "format": os.environ.get("LOG_FORMAT", "json")}
STOCKTRACE_BASE_URL = os.environ.get("STOCKTRACE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
