import re
import time
import uuid
from http import HTTPStatus
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
    """For /api/ and /hooks/, an error answer that is not a problem document yet (Django's own HTML: a method the
    path does not have, a body its parser refuses, an error no handler caught) becomes one with the same status.
    A 405 keeps its Allow header; a 500 carries the request id (Django has logged the trace under it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code >= 400 and request.path_info.startswith(GUARDED)
                and not response.get("Content-Type", "").startswith(CONTENT_TYPE)):
            return self._problem(request, response)
        return response

    @staticmethod
    def _problem(request, response):
        status = response.status_code
        if status == 405:
            allowed = response.get("Allow", "")
            answer = problem(405, "method_not_allowed", "Method not allowed",
                             f"{request.method} is not a method of {request.path}; use {allowed}")
            answer["Allow"] = allowed
            return answer
        if status >= 500:
            request_id = structlog.contextvars.get_contextvars().get("request_id", "")
            return problem(status, "server_error", "Server error", "Something failed on our side; nothing you "
                           "sent was wrong. Quote the request id to report it.", request_id=request_id)
        if status == 400:
            return problem(400, "malformed", "Malformed request", "The request could not be read (its body or "
                           "Content-Type)")
        return problem(status, "error", HTTPStatus(status).phrase)
