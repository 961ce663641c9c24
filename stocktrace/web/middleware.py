from django.shortcuts import render

from stocktrace.core.errors import DomainError, RateLimited


class DomainErrorMiddleware:
    """A domain error that escapes a page becomes an error page with its status (404 for other tenants' ids)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError) and not request.path.startswith("/api/"):
            response = render(request, "web/error.html", {"title": exception.title, "detail": exception.detail},
                              status=exception.status)
            if isinstance(exception, RateLimited):
                response["Retry-After"] = str(exception.retry_after)
            return response
        return None
