import re
import time
import uuid
from urllib.parse import unquote_to_bytes

import structlog
from django.core.exceptions import RequestDataTooBig

from stocktrace.core.problems import CONTENT_TYPE, problem

log = structlog.get_logger("stocktrace.request")
# A proxy's request id is kept only when it is short and plain, so it cannot flood or forge log lines.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestLogMiddleware:
    """Binds a request id to every log line of the request and logs one line per response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")  # not request.headers: that copies every header
        if not _SAFE_REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        if not request.path.startswith(("/static/", "/healthz")):
            log.info(
                "request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return response


GUARDED = ("/api/", "/hooks/")


class RefuseNulMiddleware:
    """Text with a NUL character cannot be stored by PostgreSQL: refuse it up front, with a clear 422, for
    every API and webhook request (path, query string and JSON body), instead of failing deep inside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(GUARDED):
            try:
                if self._has_nul(request):
                    return problem(422, "validation", "Invalid input",
                                   "Text may not contain NUL (\\u0000) characters")
            except RequestDataTooBig:
                return problem(413, "too_large", "Request body too large",
                               "The body exceeds the server's limit (STOCKTRACE_MAX_BODY_BYTES)")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
            return True
        if request.content_type == "multipart/form-data":
            return False  # uploads are parsed (and checked) by their own code, without loading them whole
        body = request.body
        return b"\x00" in body or b"\\u0000" in body


class ProblemFallbackMiddleware:
    """For /api/ and /hooks/, what would otherwise reach a machine as Django's HTML: a method the path does not
    have (405, with its Allow header) and an error no handler caught (500, the trace logged, the request id in
    the answer so an operator can find it) become problem documents."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code == 405 and request.path_info.startswith(GUARDED)
                and not response.get("Content-Type", "").startswith(CONTENT_TYPE)):
            allowed = response.get("Allow", "")
            refused = problem(405, "method_not_allowed", "Method not allowed",
                              f"{request.method} is not a method of {request.path}; use {allowed}")
            refused["Allow"] = allowed
            return refused
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith(GUARDED):
            return None
        request_id = structlog.contextvars.get_contextvars().get("request_id", "")
        log.exception("unhandled error", method=request.method, path=request.path, exc_info=exception)
        return problem(500, "server_error", "Server error",
                       "Something failed on our side; nothing you sent was wrong. Quote the request id to report it.",
                       request_id=request_id)
