"""The `cursor` of GET …/statements: an opaque token for where a page ended.

It carries the position of the page's last entry (created_at and id, the ledger's order) and B
right after that entry, so that the next page's previousBalance is exact without summing the
entries before it. The service trusts that balance, so the token is signed with the app's
secret key (itsdangerous, HMAC-SHA256, a salt of its own): a token that was altered, signed
with another key, or is not one at all, is a 400 naming `cursor`. It is not secret: it says
nothing its holder could not read on the page it came with."""

import hashlib
from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, URLSafeSerializer

from customer_credit.errors import field_error
from customer_credit.ledger.statements import StatementPosition

_SALT = "customer-credit.statements-cursor.v1"
# A real token is about 110 characters; anything far longer is refused before any work.
MAX_CURSOR_LENGTH = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVALID = "is not a cursor this service gave for these statements (it may have been altered)"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def encode_cursor(position: StatementPosition, secret_key: str) -> str:
    moment_us = (position.created_at - _EPOCH) // timedelta(microseconds=1)
    payload = [position.account_id, moment_us, position.entry_id, position.balance_after_cents]
    return str(_serializer(secret_key).dumps(payload))


def decode_cursor(raw: str, secret_key: str) -> StatementPosition:
    if len(raw) > MAX_CURSOR_LENGTH or not raw.isascii():
        raise field_error("cursor", _INVALID)
    try:
        payload = _serializer(secret_key).loads(raw)
    except BadData:
        raise field_error("cursor", _INVALID) from None
    # Signed by us, so well formed; checked anyway, so that a future format change fails as a 400.
    if (
        not isinstance(payload, list)
        or len(payload) != 4
        or not all(isinstance(part, int) and not isinstance(part, bool) for part in payload)
    ):
        raise field_error("cursor", _INVALID)
    account_id, moment_us, entry_id, balance_after_cents = payload
    try:
        created_at = _EPOCH + timedelta(microseconds=moment_us)
    except OverflowError:
        raise field_error("cursor", _INVALID) from None
    return StatementPosition(
        account_id=account_id,
        created_at=created_at,
        entry_id=entry_id,
        balance_after_cents=balance_after_cents,
    )
