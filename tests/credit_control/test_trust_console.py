"""The trust level in the console, on SQLite and PostgreSQL: the badge on the account page and in
the accounts table, the account page's section with the last change, its form (admins only,
CSRF-checked), and the accounts CSV export and import; what a form or an import changes is read
back through the API."""

import csv
import io
import re
from datetime import timedelta

import pytest

from customer_credit.console.formatting import Presentation
from customer_credit.events.outbox import sequence_pending
from customer_credit.users import service as users
from tests.console.support import signed_in
from tests.console.test_csv import outcomes
from tests.console.test_csv import upload as csv_upload
from tests.helpers import account, open_account


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashes():
    """As tests/console does: signing operators in should not spend the run hashing."""
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()


def account_page(public_id: str) -> str:
    return f"/admin/accounts/{public_id}"


def section(html: str) -> str:
    """The account page's trust level section."""
    return html.split('aria-labelledby="trust-title"')[1].split("</section>")[0]


def title_row(html: str) -> str:
    return html.split('<div class="title-row">')[1].split("</div>")[0]


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def upload(console, text: str, *, apply: bool):
    """The accounts import: its preview, or (apply=True) the file applied (tests/console/test_csv's
    flow: upload, the job run, the preview applied)."""
    return csv_upload(console, "accounts", text, apply=apply)


def trust_event_count(api) -> int:
    while True:
        with api.store.database.write() as session:
            if not sequence_pending(session):
                break
    feed = api.get("/events", params={"limit": 1000}).json()["data"]
    return sum(1 for event in feed if event["type"] == "account.trust_level_changed")


# --- the account page -----------------------------------------------------------------------


def test_the_account_page_shows_the_level_as_a_badge_and_never_changed(app, store, api):
    account_id = open_account(api)["id"]
    page = signed_in(app, store).get(account_page(account_id))

    assert page.status_code == 200
    assert 'data-trust-badge="normal"' in title_row(page.text)
    shown = section(page.text)
    assert 'data-trust-change="none"' in shown
    assert 'action="/admin/accounts/' in shown and "Save trust level" in shown


def test_an_admin_changes_the_level_and_sees_who_when_and_why(app, store, api, frozen_clock):
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    changed_at = (frozen_clock.moment + timedelta(days=1)).replace(microsecond=0)
    frozen_clock.set(changed_at)

    saved = console.post(
        account_page(account_id) + "/trust-level", {"trustLevel": "watch", "reason": "late twice"}
    )

    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == account_page(account_id)
    assert account(api, account_id)["trustLevel"] == "watch"
    page = console.get(account_page(account_id)).text
    assert "Trust level: watch." in page
    assert 'data-trust-badge="watch"' in title_row(page)
    shown = section(page)
    assert 'data-trust-level="watch"' in page
    assert "from normal to watch" in shown
    assert re.search(r"data-trust-by>admin-[0-9a-f]+@example\.com<", shown)
    assert Presentation().moment(changed_at) in shown
    assert "<span data-trust-reason>late twice</span>" in shown
    assert '<option value="watch" selected>' in shown


def test_a_bad_level_is_shown_again_with_its_error(app, store, api):
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    for data, message in (
        ({"trustLevel": "excellent"}, "must be one of good, normal, watch"),
        ({"trustLevel": "good", "reason": "x" * 501}, "must be at most 500 characters"),
    ):
        refused = console.post(account_page(account_id) + "/trust-level", data)
        assert refused.status_code == 400, refused.text
        assert message in section(refused.text)
    assert account(api, account_id)["trustLevel"] == "normal"
    assert trust_event_count(api) == 0


def test_a_closed_account_shows_its_level_without_the_form(app, store, api):
    account_id = open_account(api)["id"]
    api.put(f"/accounts/{account_id}/trustlevel", json={"trustLevel": "good"})
    assert api.delete(f"/accounts/{account_id}").status_code == 200
    console = signed_in(app, store)

    shown = section(console.get(account_page(account_id)).text)

    assert 'data-trust-badge="good"' in shown and "Save trust level" not in shown
    refused = console.post(account_page(account_id) + "/trust-level", {"trustLevel": "watch"})
    assert refused.status_code == 409
    assert account(api, account_id)["trustLevel"] == "good"


def test_a_viewer_sees_the_level_read_only_and_cannot_change_it(app, store, api):
    account_id = open_account(api)["id"]
    api.put(f"/accounts/{account_id}/trustlevel", json={"trustLevel": "watch", "reason": "checks bounce"})
    viewer = signed_in(app, store, "viewer")

    shown = section(viewer.get(account_page(account_id)).text)

    assert 'data-trust-badge="watch"' in shown and "checks bounce" in shown
    assert "Save trust level" not in shown and 'name="trustLevel"' not in shown
    refused = viewer.post(account_page(account_id) + "/trust-level", {"trustLevel": "good"})
    assert refused.status_code == 403 and "can read but not change anything" in refused.text
    assert account(api, account_id)["trustLevel"] == "watch"


def test_the_form_needs_its_csrf_token(app, store, api):
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    refused = console.post(account_page(account_id) + "/trust-level", {"trustLevel": "watch"}, token=False)
    assert refused.status_code == 403
    forged = console.client.post(
        account_page(account_id) + "/trust-level", data={"trustLevel": "watch", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert account(api, account_id)["trustLevel"] == "normal"


def test_the_accounts_table_has_a_trust_column(app, store, api):
    watched = open_account(api)["id"]
    plain = open_account(api)["id"]
    api.put(f"/accounts/{watched}/trustlevel", json={"trustLevel": "watch"})

    table = signed_in(app, store, "viewer").get("/admin/accounts").text

    assert '<th scope="col">Trust</th>' in table
    rows = dict(re.findall(r'<tr>\s*<td[^>]*><a href="[^"]+">([^<]+)</a>(.*?)</tr>', table, re.S))
    assert 'data-trust-badge="watch"' in rows[watched]
    assert 'data-trust-badge="normal"' in rows[plain]


# --- CSV --------------------------------------------------------------------------------------


def test_the_accounts_export_has_a_trust_level_column(app, store, api):
    good = open_account(api)["id"]
    plain = open_account(api)["id"]
    api.put(f"/accounts/{good}/trustlevel", json={"trustLevel": "good"})

    exported = signed_in(app, store, "viewer").get("/admin/export/accounts.csv")

    assert exported.status_code == 200
    assert exported.text.splitlines()[0].split(",")[-1] == "trustLevel"
    levels = {row["id"]: row["trustLevel"] for row in rows_of(exported.text)}
    assert levels == {good: "good", plain: "normal"}


def test_an_export_imports_back_unchanged_and_an_edited_level_is_set(app, store, api):
    account_id = open_account(api)["id"]
    api.put(f"/accounts/{account_id}/trustlevel", json={"trustLevel": "good"})
    console = signed_in(app, store)
    exported = console.get("/admin/export/accounts.csv").text

    assert {o for o, _ in outcomes(upload(console, exported, apply=False).text).values()} == {"unchanged"}

    edited = exported.replace(",good\r\n", ",watch\r\n").replace(",good\n", ",watch\n")
    assert edited != exported
    preview = outcomes(upload(console, edited, apply=False).text)
    assert preview[2] == ("update", "trustLevel: good → watch")
    assert account(api, account_id)["trustLevel"] == "good"  # a preview changes nothing
    applied = upload(console, edited, apply=True)
    assert "Applied: 1 change" in applied.text, applied.text
    assert account(api, account_id)["trustLevel"] == "watch"
    assert trust_event_count(api) == 2


def test_the_import_opens_accounts_with_a_level_and_refuses_a_bad_one(app, store, api):
    console = signed_in(app, store)
    text = (
        "document,documentType,email,trustLevel\n"
        "70011122233,CPF,trusted@example.com,good\n"
        "70011122244,CPF,plain@example.com,\n"
        "70011122255,CPF,odd@example.com,excellent\n"
    )

    preview = outcomes(upload(console, text, apply=False).text)

    assert preview[2][0] == "create" and preview[2][1].endswith(", trust level good")
    assert preview[3][0] == "create" and "trust level" not in preview[3][1]
    assert preview[4] == ("error", "trustLevel: must be one of good, normal, watch")
    fixed = text.replace("excellent", "Watch")
    assert "Applied: 3 changes" in upload(console, fixed, apply=True).text
    assert account(api, "70011122233_CPF")["trustLevel"] == "good"
    assert account(api, "70011122244_CPF")["trustLevel"] == "normal"
    assert account(api, "70011122255_CPF")["trustLevel"] == "watch"
