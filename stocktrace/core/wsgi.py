"""The WSGI application: Django's, except that pushes to /hooks/ go through a shorter middleware chain, and
that a response held whole in memory reaches the server as one chunk.

A push is a machine's signed POST: sessions, CSRF, logins, messages, frame options and login lockouts
have nothing to do with it, and running them costs a sixth of its time. It keeps the security headers,
the request id and log line, and the NUL refusal.
"""

from typing import cast

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse

HOOKS_PREFIX = "/hooks/"
HOOKS_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "stocktrace.core.middleware.RequestLogMiddleware",
    "stocktrace.core.middleware.RefuseNulMiddleware",
    "stocktrace.core.middleware.ProblemFallbackMiddleware",
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
        response = handler(environ, start_response)
        if getattr(response, "streaming", True):  # streamed exports and files: iterated as they are produced
            return response
        # granian writes a list in one call, but iterates anything else a chunk at a time through its runtime,
        # which cost a quarter of a millisecond per request here. A list has no close(), so the request is
        # finished (request_finished sent, database connections tidied) before its bytes go out.
        try:
            return [cast(HttpResponse, response).content]  # not streaming: a whole HttpResponse
        finally:
            response.close()
