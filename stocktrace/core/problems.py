"""RFC 9457 problem documents: how every machine-facing error is answered (the API, /hooks/, middleware)."""

from typing import Any

from django.http import HttpResponse, JsonResponse

from stocktrace.core.errors import DomainError, RateLimited

PROBLEM_TYPE = "https://stocktrace.dev/problems/"
CONTENT_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str = "", **extra) -> HttpResponse:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE)
    if "retry_after" in extra:
        response["Retry-After"] = str(extra["retry_after"])
    return response



def domain_problem(exc: DomainError) -> HttpResponse:
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"path": exc.field, "message": exc.detail}]
    if isinstance(exc, RateLimited):
        extra["retry_after"] = exc.retry_after
    return problem(exc.status, exc.code, exc.title, exc.detail, **extra)
