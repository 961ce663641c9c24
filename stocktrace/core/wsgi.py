"""The WSGI application: Django's, except that pushes to /hooks/ go through a shorter middleware chain.

A push is a machine's signed POST: sessions, CSRF, logins, messages, frame options and login lockouts
have nothing to do with it, and running them costs a sixth of its time. It keeps the security headers,
the request id and log line, and the NUL refusal.
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

HOOKS_PREFIX = "/hooks/"
HOOKS_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "stocktrace.core.middleware.RequestLogMiddleware",
    "stocktrace.api.middleware.RefuseNulMiddleware",
]


class _HooksHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        # Django builds the chain from settings.MIDDLEWARE; this runs once, while the application is made.
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = [name for name in HOOKS_MIDDLEWARE if name in everything]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


class Application:
    def __init__(self):
        self.everything = WSGIHandler()
        self.hooks = _HooksHandler()

    def __call__(self, environ, start_response):
        handler = self.hooks if environ.get("PATH_INFO", "").startswith(HOOKS_PREFIX) else self.everything
        return handler(environ, start_response)
