import uuid
from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages

from stocktrace.core.errors import DomainError

T = TypeVar("T")


def announce(request, action: Callable[[], T], success: Callable[[T], str]) -> None:
    """Run the service call behind a button and tell the person how it went: its success message, or
    the reason it was refused (a refusal changed nothing). The caller redirects either way."""
    try:
        result = action()
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, success(result))


def followed_job(request) -> uuid.UUID | None:
    """The job a page was sent back with (`?job=<id>`, after a button started it), whose progress it shows."""
    try:
        return uuid.UUID(request.GET.get("job", ""))
    except ValueError:
        return None
