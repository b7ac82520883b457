"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the receiver checks
`webhook-signature` = "v1," + base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}"))
where key is the base64 part of the endpoint's "whsec_…" secret."""

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_S = 5 * 60


class InvalidSignature(ValueError):
    pass


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, body: bytes, timestamp_s: int | None = None) -> dict[str, str]:
    timestamp_s = int(time.time()) if timestamp_s is None else timestamp_s
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": sign(secret, msg_id, timestamp_s, body),
    }


def verify(
    secret: str,
    received: dict[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now_s: float | None = None,
) -> None:
    """What a receiver does; raises InvalidSignature. `received` has lower-case header names."""
    msg_id = received.get("webhook-id")
    stamp = received.get("webhook-timestamp")
    signatures = received.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp_s = int(stamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not a number") from None
    now_s = time.time() if now_s is None else now_s
    if abs(now_s - timestamp_s) > tolerance_s:
        raise InvalidSignature("webhook-timestamp is too old or in the future")
    expected = sign(secret, msg_id, timestamp_s, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise InvalidSignature("no matching signature")
