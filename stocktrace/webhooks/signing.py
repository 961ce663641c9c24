"""The signature scheme, both ways: `v1=` hex HMAC-SHA256 of "<unix timestamp>.<raw body>"."""

import hashlib
import hmac
import time
from collections.abc import Iterable

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


def verify(secret: str | Iterable[str], *, timestamp: str | None, signature: str | None, body: bytes,
           now: float | None = None) -> None:
    """Raise SignatureError unless the signature is right and the timestamp within five minutes (replays of
    an old, captured request are refused; a replay within the window is caught by the delivery id).
    Several secrets may be given (a rotation's overlap): a signature made with any of them is accepted."""
    if not timestamp or not signature:
        raise SignatureError(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds") from exc
    if abs((time.time() if now is None else now) - sent_at) > TOLERANCE_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {TOLERANCE_SECONDS} s from the server's clock")
    secrets = [secret] if isinstance(secret, str) else [s for s in secret if s]
    expected = [sign(s, sent_at, body) for s in secrets]
    parts = [part.strip() for part in signature.split(",")]
    if not any(hmac.compare_digest(e, part) for e in expected for part in parts):
        raise SignatureError("The signature does not match the body")
