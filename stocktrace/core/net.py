import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The address of the person or device. Behind STOCKTRACE_PROXY_COUNT trusted proxies, the address the
    outermost of them saw, counted from the right of X-Forwarded-For (entries further left are the
    client's own claims and cannot be trusted)."""
    proxies = settings.STOCKTRACE_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            try:
                return str(ipaddress.ip_address(forwarded[-proxies]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None
