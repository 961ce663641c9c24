"""Sending one outbound webhook request."""

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from stocktrace.webhooks import signing


class DeliveryFailed(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect could lead a signed request anywhere
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _refuse_private(url: str) -> None:
    if settings.STOCKTRACE_OUTBOUND_ALLOW_PRIVATE:
        return
    host = urlsplit(url).hostname or ""
    for info in socket.getaddrinfo(host, None):
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            raise DeliveryFailed(f"{host} resolves to a private address ({address}); refused")


def post_signed(*, url: str, secrets: list[str], event: str, delivery_id: str, payload: dict,
                timeout: float) -> tuple[int | None, float, str, str]:
    """POST the payload, with a signature made with each secret (two while a rotation overlaps); returns
    (status code or None, milliseconds, response excerpt, error)."""
    body = json.dumps(payload, cls=DjangoJSONEncoder).encode()
    timestamp = int(time.time())
    signatures = ",".join(signing.sign(secret, timestamp, body) for secret in secrets)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "stocktrace-webhooks/1",
        signing.EVENT_HEADER: event, signing.DELIVERY_HEADER: delivery_id,
        signing.TIMESTAMP_HEADER: str(timestamp), signing.SIGNATURE_HEADER: signatures,
    })
    started = time.perf_counter()
    try:
        _refuse_private(url)
        with _opener.open(request, timeout=timeout) as response:
            excerpt = response.read(2000).decode("utf-8", "replace")
            return response.status, (time.perf_counter() - started) * 1000, excerpt, ""
    except urllib.error.HTTPError as error:
        excerpt = error.read(2000).decode("utf-8", "replace")
        return error.code, (time.perf_counter() - started) * 1000, excerpt, f"HTTP {error.code}"
    except (OSError, DeliveryFailed) as error:
        return None, (time.perf_counter() - started) * 1000, "", f"{type(error).__name__}: {error}"
