"""A secret shown once after a redirect, so that a console form that creates one (an API token,
a webhook's signing secret, a generated password) can follow post/redirect/get: reloading the
page it lands on shows "already shown" instead of posting the form again.

The secret is split in two with a one-time pad: the database keeps `secret XOR pad`, the
browser keeps the pad (in a signed, HttpOnly cookie). Neither half alone says anything about
the secret, so no encryption library is needed and no readable copy is stored. The first
reading deletes the row; a row nobody reads expires after REVEAL_TTL and is purged."""

import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from customer_credit.users.models import SecretReveal
from customer_credit.users.service import token_hash

REVEAL_TTL = timedelta(minutes=10)
MAX_SECRET_BYTES = 4096


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def seal(
    session: Session, session_token: str, purpose: str, secret: dict[str, str], now: datetime
) -> tuple[str, str]:
    """Keeps half of `secret` for the signed-in browser of `session_token`; returns the reveal's
    id and the pad (hex) that the browser keeps."""
    plain = json.dumps(secret, separators=(",", ":")).encode()
    if len(plain) > MAX_SECRET_BYTES:
        raise ValueError("a secret to reveal is at most 4 KiB")
    pad = secrets.token_bytes(len(plain))
    reveal_id = secrets.token_hex(16)
    session.execute(delete(SecretReveal).where(SecretReveal.expires_at <= now))
    session.add(
        SecretReveal(
            id=reveal_id,
            session_sha256=token_hash(session_token),
            purpose=purpose,
            sealed_hex=_xor(plain, pad).hex(),
            expires_at=now + REVEAL_TTL,
        )
    )
    session.flush()
    return reveal_id, pad.hex()


def unseal(
    session: Session, session_token: str, purpose: str, reveal_id: str, pad_hex: str, now: datetime
) -> dict[str, str] | None:
    """The secret, once: the row is deleted as it is read. None when it was already shown, has
    expired, belongs to another browser session or purpose, or the pad does not fit."""
    row = session.scalar(select(SecretReveal).where(SecretReveal.id == reveal_id).with_for_update())
    if row is None:
        return None
    session.delete(row)
    session.flush()
    if row.session_sha256 != token_hash(session_token) or row.purpose != purpose or row.expires_at <= now:
        return None
    try:
        pad = bytes.fromhex(pad_hex)
        found = json.loads(_xor(bytes.fromhex(row.sealed_hex), pad).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(found, dict) or not all(isinstance(v, str | None) for v in found.values()):
        return None
    return found
