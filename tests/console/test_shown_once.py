"""A secret created by a console form is shown once, on the page the form redirects to
(console/shown_once.py, users/reveals.py): only half of it is in the database, the other half in
the browser's cookie; another browser session, a second reading or a late reading gets nothing."""

import re
from datetime import UTC, datetime, timedelta

from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from customer_credit.auth.resources import ALL_RESOURCES
from customer_credit.users import reveals
from customer_credit.users.models import SecretReveal
from customer_credit.users.service import token_hash
from tests.console.support import signed_in

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
TOKEN = re.compile(r'id="issued-token"[^>]*value="([^"]+)"')


def create_key(console):
    made = console.post("/admin/api-keys", {"label": "ERP", "resources": [ALL_RESOURCES[0]]})
    assert made.status_code == 303, made.text
    return made


def sealed_rows(database, console) -> list[SecretReveal]:
    """The reveals of this console's browser session (the database is shared by the file's tests)."""
    signed = console.client.cookies["cc_admin_session"]
    token = URLSafeSerializer(
        console.client.app.state.secret_key, salt="customer-credit.console.session"
    ).loads(signed)
    with database.read() as session:
        rows = list(
            session.scalars(select(SecretReveal).where(SecretReveal.session_sha256 == token_hash(token)))
        )
        session.expunge_all()
        return rows


def test_neither_half_alone_holds_the_secret(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    made = create_key(console)
    [row] = sealed_rows(database, console)
    assert row.expires_at == NOW + reveals.REVEAL_TTL

    token = TOKEN.search(console.get("/admin/api-keys").text).group(1)
    assert token.encode().hex() not in row.sealed_hex and token not in row.sealed_hex
    assert token not in made.headers["set-cookie"] and token.encode().hex() not in made.headers["set-cookie"]
    assert sealed_rows(database, console) == []  # read once, then gone


def test_another_browser_session_with_the_cookie_gets_nothing(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    mine, other = signed_in(app, store), signed_in(app, store)
    create_key(mine)
    other.client.cookies.set("cc_admin_reveal", mine.client.cookies["cc_admin_reveal"], path="/admin")

    stolen = other.get("/admin/api-keys").text
    assert TOKEN.search(stolen) is None and "That token was shown once" in stolen
    assert TOKEN.search(mine.get("/admin/api-keys").text) is None  # the row is spent, not left to retry
    assert sealed_rows(database, mine) == []


def test_a_reveal_not_read_in_time_expires_and_is_purged(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    create_key(console)
    frozen_clock.set(NOW + reveals.REVEAL_TTL + timedelta(seconds=1))
    late = console.get("/admin/api-keys").text
    assert TOKEN.search(late) is None and "That token was shown once" in late

    create_key(console)  # sealing purges what expired
    assert len(sealed_rows(database, console)) == 1


def test_a_reveal_is_only_read_by_its_own_page(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    create_key(console)
    webhooks = console.get("/admin/webhooks").text
    assert "was shown once" not in webhooks and len(sealed_rows(database, console)) == 1  # left for its page
    assert TOKEN.search(console.get("/admin/api-keys").text) is not None


def test_a_tampered_pad_reveals_nothing(database, frozen_clock):
    with database.write() as session:
        reveal_id, pad = reveals.seal(session, "session-token", "api-key", {"app_token": "s3cret"}, NOW)
    flipped = format(int(pad[:2], 16) ^ 0xFF, "02x") + pad[2:]
    with database.write() as session:
        found = reveals.unseal(session, "session-token", "api-key", reveal_id, flipped, NOW)
    assert found is None or found.get("app_token") != "s3cret"
    with database.write() as session:
        assert reveals.unseal(session, "session-token", "api-key", reveal_id, pad, NOW) is None  # spent
