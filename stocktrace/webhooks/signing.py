"""The signature scheme, both ways: `v1=` hex HMAC-SHA256 of "<unix timestamp>.<raw body>"."""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Stocktrace-Timestamp"
SIGNATURE_HEADER = "X-Stocktrace-Signature"
DELIVERY_HEADER = "X-Stocktrace-Delivery"
EVENT_HEADER = "X-Stocktrace-Event"
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    pass


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(secret: str, *, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None) -> None:
    """Raise SignatureError unless the signature is right and the timestamp within five minutes (replays of
    an old, captured request are refused; a replay within the window is caught by the delivery id)."""
    if not timestamp or not signature:
        raise SignatureError(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds") from exc
    if abs((time.time() if now is None else now) - sent_at) > TOLERANCE_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {TOLERANCE_SECONDS} s from the server's clock")
    expected = sign(secret, sent_at, body)
    if not any(hmac.compare_digest(expected, part.strip()) for part in signature.split(",")):
        raise SignatureError("The signature does not match the body")
