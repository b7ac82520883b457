"""Console operators, on SQLite and PostgreSQL: made, re-roled, disabled and enabled through
users.service (checked through the service and by signing in), a generated password shown
exactly once, the store never left without an enabled admin, and a viewer changes nothing."""

import re
import uuid
from datetime import UTC, datetime

from customer_credit.stores.models import Store as StoreRow
from customer_credit.users import service as users
from tests.console.support import PASSWORD, Console, make_operator, signed_in

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def operators_of(database, store) -> dict:
    with database.read() as session:
        found = {op.email: op for op in users.list_operators(session, session.get(StoreRow, store.id))}
        session.expunge_all()
    return found


def new_email() -> str:
    return f"ops-{uuid.uuid4().hex[:10]}@example.com"


def admin_console(app, store) -> tuple[Console, str]:
    email = make_operator(store, "admin")
    console = Console(app)
    assert console.sign_in(email).status_code == 303
    return console, email


def test_an_operator_is_made_with_a_password_shown_once(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console, me = admin_console(app, store)
    email = new_email()

    created = console.post("/admin/operators", {"email": email.upper(), "role": "viewer"})
    assert created.status_code == 303 and created.headers["location"] == "/admin/operators", created.text
    shown = console.get("/admin/operators").text
    password = re.search(r'id="new-password"[^>]*value="([^"]+)"', shown).group(1)
    assert shown.count(password) == 1 and password not in created.headers.get("set-cookie", "")
    assert operators_of(database, store)[email].role == "viewer"
    assert Console(app).sign_in(email, password).status_code == 303  # the shown password works

    listed = console.get("/admin/operators").text
    assert re.search(rf'data-operator="{email}" data-role="viewer" data-state="active"', listed)
    assert re.search(rf'data-operator="{me}" data-role="admin"', listed)
    assert password not in listed and "data-secret-shown" not in listed

    typed = new_email()
    chosen = console.post("/admin/operators", {"email": typed, "role": "admin", "password": PASSWORD})
    assert chosen.status_code == 303 and "cc_admin_reveal" not in chosen.headers.get("set-cookie", "")
    landed = console.get("/admin/operators").text
    assert "data-secret-shown" not in landed and PASSWORD not in landed  # never echoed
    assert f"Operator {typed} created." in landed
    assert operators_of(database, store)[typed].role == "admin"


def test_bad_input_is_one_error_by_its_field(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console, me = admin_console(app, store)
    before = set(operators_of(database, store))

    bad_email = console.post("/admin/operators", {"email": "not-an-address", "role": "viewer"})
    assert bad_email.status_code == 400 and bad_email.text.count('class="field-error"') == 1
    assert "E-mail: must be an e-mail address" in bad_email.text
    short = console.post("/admin/operators", {"email": new_email(), "role": "viewer", "password": "short"})
    assert short.status_code == 400 and short.text.count('class="field-error"') == 1
    assert "Password: must be 12 to 1024 characters" in short.text
    assert 'value="short"' not in short.text  # a typed password is never sent back
    bad_role = console.post("/admin/operators", {"email": new_email(), "role": "owner"})
    assert bad_role.status_code == 400 and "Role: must be one of admin, viewer" in bad_role.text
    assert set(operators_of(database, store)) == before

    twice = console.post("/admin/operators", {"email": me, "role": "viewer"})
    assert twice.status_code == 409 and f"{me} is already an operator of {store.name}" in twice.text
    assert operators_of(database, store)[me].role == "admin"


def test_roles_change_and_the_last_admin_stays(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console, me = admin_console(app, store)

    demote_self = console.post("/admin/operators/role", {"email": me, "role": "viewer"})
    assert demote_self.status_code == 409
    assert "is the only enabled admin" in demote_self.text
    disable_self = console.post("/admin/operators/disable", {"email": me})
    assert disable_self.status_code == 409 and "is the only enabled admin" in disable_self.text
    assert operators_of(database, store)[me].role == "admin"
    assert operators_of(database, store)[me].disabled_at is None

    other = make_operator(store, "viewer")
    promoted = console.post("/admin/operators/role", {"email": other, "role": "admin"})
    assert promoted.status_code == 303 and promoted.headers["location"] == "/admin/operators"
    assert operators_of(database, store)[other].role == "admin"
    assert f"{other} is now admin." in console.get("/admin/operators").text

    # With another admin, an admin may step down; their session reads the new role at once.
    assert console.post("/admin/operators/role", {"email": me, "role": "viewer"}).status_code == 303
    assert operators_of(database, store)[me].role == "viewer"
    again = console.post("/admin/operators/role", {"email": other, "role": "viewer"})
    assert again.status_code == 403
    assert operators_of(database, store)[other].role == "admin"


def test_disabling_ends_the_sessions_and_enabling_lets_them_back(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console, _me = admin_console(app, store)
    email = make_operator(store, "admin")
    theirs = Console(app)
    assert theirs.sign_in(email).status_code == 303
    assert theirs.get("/admin/operators").status_code == 200

    disabled = console.post("/admin/operators/disable", {"email": email})
    assert disabled.status_code == 303
    assert operators_of(database, store)[email].disabled_at is not None
    assert theirs.get("/admin/operators").status_code == 303  # back to the sign-in page
    assert Console(app).sign_in(email).status_code != 303
    assert re.search(
        rf'data-operator="{email}" data-role="admin" data-state="disabled"',
        console.get("/admin/operators").text,
    )

    assert console.post("/admin/operators/enable", {"email": email}).status_code == 303
    assert operators_of(database, store)[email].disabled_at is None
    assert Console(app).sign_in(email).status_code == 303

    missing = console.post("/admin/operators/disable", {"email": "nobody@example.com"})
    assert missing.status_code == 404 and "no operator nobody@example.com" in missing.text


def test_a_viewer_sees_the_team_but_changes_nothing(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    admin = make_operator(store, "admin")
    viewer = signed_in(app, store, "viewer")

    page = viewer.get("/admin/operators")
    assert page.status_code == 200 and admin in page.text
    assert "Your role (viewer) can read but not change anything." in page.text
    assert 'disabled aria-describedby="read-only-note">Make viewer<' in page.text
    assert 'disabled aria-describedby="read-only-note">Disable<' in page.text
    assert "<fieldset disabled" in page.text

    before = set(operators_of(database, store))
    for path, data in (
        ("/admin/operators", {"email": new_email(), "role": "admin"}),
        ("/admin/operators/role", {"email": admin, "role": "viewer"}),
        ("/admin/operators/disable", {"email": admin}),
    ):
        refused = viewer.post(path, data)
        assert refused.status_code == 403, path
        assert "can read but not change anything" in refused.text
    found = operators_of(database, store)
    assert set(found) == before
    assert found[admin].role == "admin" and found[admin].disabled_at is None
