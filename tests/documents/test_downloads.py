"""Downloading documents from the console (admins and viewers) and from My Credits (the customer's
own accounts only), on SQLite and PostgreSQL."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.testclient import TestClient

from customer_credit.accounts.models import Account
from customer_credit.ledger.models import Statement
from customer_credit.my_credits import links
from tests.console.support import signed_in
from tests.documents.support import PDF, pdf_text, set_store
from tests.helpers import configure, open_account, purchase

# 21:00 on Mar 19 in São Paulo: a day earlier there than in UTC.
NOW = datetime(2026, 3, 20, 0, 0, tzinfo=UTC)


def invoices_of(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/invoices")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def line(text: str, label: str, value: str) -> bool:
    return re.search(rf"^\s*{re.escape(label)}\s+{re.escape(value)}\s*$", text, re.MULTILINE) is not None


# --- Console -------------------------------------------------------------------------------


def test_the_console_links_to_the_invoice_pdf_and_a_viewer_downloads_it(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    account_id = open_account(api)["id"]
    purchase(api, account_id, "77.70")
    (invoice,) = invoices_of(api, account_id)
    for role in ("admin", "viewer"):
        console = signed_in(app, store, role=role)
        page = console.get(f"/admin/accounts/{account_id}/invoices/{invoice['id']}")
        assert page.status_code == 200
        href = f"/admin/accounts/{account_id}/invoices/{invoice['id']}/pdf"
        assert f'href="{href}"' in page.text
        response = console.get(href)
        assert response.status_code == 200 and response.headers["content-type"] == PDF
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        text = pdf_text(response.content)
        assert line(text, "Friendly id", invoice["friendlyId"]) and line(text, "Value (USD)", "77.70")
    missing = console.get(f"/admin/accounts/{account_id}/invoices/{invoice['id']}-nope/pdf")
    assert missing.status_code == 404 and "Not found" in missing.text


def test_the_console_statement_is_for_days_in_the_stores_zone(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    set_store(store, timezone="America/Sao_Paulo")
    account_id = open_account(api)["id"]
    purchase(api, account_id, "2")
    purchase(api, account_id, "40")
    with store.database.write() as session:
        account = session.scalar(
            select(Account).where(Account.store_id == store.id, Account.public_id == account_id)
        )
        early, late = session.scalars(
            select(Statement).where(Statement.account_id == account.id).order_by(Statement.id)
        )
        early.created_at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 23:00 on Feb 28 in São Paulo
        late.created_at = datetime(2026, 3, 19, 23, 30, tzinfo=UTC)  # 20:30 on Mar 19 there
    console = signed_in(app, store, role="viewer")
    page = console.get(f"/admin/accounts/{account_id}")
    assert page.status_code == 200
    # The form starts with this month so far, as São Paulo's calendar shows it (Mar 19 there).
    form = page.text.split('id="statement-pdf"')[1].split("</form>")[0]
    assert f'action="/admin/accounts/{account_id}/statement.pdf"' in form
    assert 'value="2026-03-01"' in form and 'value="2026-03-19"' in form

    response = console.get(
        f"/admin/accounts/{account_id}/statement.pdf", params={"from": "2026-03-01", "to": "2026-03-19"}
    )
    assert response.status_code == 200 and response.headers["content-type"] == PDF
    text = pdf_text(response.content)
    assert line(text, "Period", "2026-03-01 00:00 to 2026-03-19 23:59 (America/Sao_Paulo)")
    assert line(text, "Previous balance (USD)", "-2.00") and line(text, "Entries", "1")
    assert re.search(r"^\s*2026-03-19 20:30\s+Invoice\s+.*\s-40\.00\s+-42\.00\s*$", text, re.MULTILINE)
    assert line(text, "Balance at the end of the period (USD)", "-42.00")
    everything = pdf_text(console.get(f"/admin/accounts/{account_id}/statement.pdf").content)
    assert line(everything, "Entries", "2") and line(everything, "Previous balance (USD)", "0.00")

    bad = console.get(f"/admin/accounts/{account_id}/statement.pdf", params={"from": "03/01/2026"})
    assert bad.status_code == 303 and bad.headers["location"] == f"/admin/accounts/{account_id}#statement-pdf"
    shown = console.get(bad.headers["location"])
    assert "from: must be a date (YYYY-MM-DD)" in shown.text
    backwards = console.get(
        f"/admin/accounts/{account_id}/statement.pdf", params={"from": "2026-03-10", "to": "2026-03-09"}
    )
    assert backwards.status_code == 303
    unknown = console.get("/admin/accounts/no-such-account/statement.pdf")
    assert unknown.status_code == 404


def test_the_console_downloads_need_a_session(app, store, api):
    account_id = open_account(api)["id"]
    anonymous = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    response = anonymous.get(f"/admin/accounts/{account_id}/statement.pdf")
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/sign-in")


# --- My Credits ----------------------------------------------------------------------------


def customer(app, store, account_id: str, email: str) -> TestClient:
    with store.database.write() as session:
        issued = links.issue_link(session, store.principal(), account_id, email, timedelta(hours=1))
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    parts = urlsplit(issued.url("http://testserver"))
    entered = client.get(f"{parts.path}?{parts.query}")
    assert entered.status_code == 303, entered.text
    return client


def test_a_customer_downloads_their_own_invoices_and_statement(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, myCreditsEnabled=True)
    set_store(store, payment_instructions="Pay by PIX to key 00.000.000/0001-00")
    own = open_account(api, email="ana@example.com")["id"]
    purchase(api, own, "100", installments=2)
    first, second = invoices_of(api, own)
    assert api.post(f"/accounts/{own}/invoices/{second['id']}/payments").status_code == 200
    client = customer(app, store, own, "ana@example.com")
    page = client.get("/my-credits")
    assert page.status_code == 200
    for invoice in (first, second):  # open and paid alike
        href = f"/my-credits/accounts/{own}/invoices/{invoice['id']}/pdf"
        assert f'href="{href}"' in page.text
        response = client.get(href)
        assert response.status_code == 200 and response.headers["content-type"] == PDF
        text = pdf_text(response.content)
        assert (
            line(text, "Friendly id", invoice["friendlyId"])
            and "Pay by PIX to key 00.000.000/0001-00" in text
        )
    assert line(
        pdf_text(client.get(f"/my-credits/accounts/{own}/invoices/{second['id']}/pdf").content),
        "Status",
        "Paid",
    )

    assert f'action="/my-credits/accounts/{own}/statement.pdf"' in page.text
    statement = client.get(f"/my-credits/accounts/{own}/statement.pdf", params={"from": "", "to": ""})
    assert statement.status_code == 200 and statement.headers["content-type"] == PDF
    text = pdf_text(statement.content)
    assert (
        line(text, "Account", own)
        and line(text, "Entries", "2")
        and line(text, "Current balance (USD)", "-50.00")
    )
    bad = client.get(f"/my-credits/accounts/{own}/statement.pdf", params={"from": "tomorrow"})
    assert bad.status_code == 400 and "must be a date" in bad.text


def test_a_customer_cannot_download_another_accounts_documents(app, store, api, frozen_clock):
    configure(api, myCreditsEnabled=True)
    own = open_account(api, email="ana@example.com")["id"]
    second_own = open_account(api, email="ana@example.com")["id"]
    other = open_account(api, email="bruno@example.com")["id"]
    for account_id in (own, second_own, other):
        purchase(api, account_id, "10")
    (mine,) = invoices_of(api, own)
    (brunos,) = invoices_of(api, other)
    (second,) = invoices_of(api, second_own)
    client = customer(app, store, own, "ana@example.com")
    assert client.get(f"/my-credits/accounts/{own}/invoices/{mine['id']}/pdf").status_code == 200
    for path in (
        f"/my-credits/accounts/{other}/invoices/{brunos['id']}/pdf",
        f"/my-credits/accounts/{own}/invoices/{brunos['id']}/pdf",  # another account's invoice id
        f"/my-credits/accounts/{other}/statement.pdf",
        # Ana owns this one too, but her link opens only the account it was issued for.
        f"/my-credits/accounts/{second_own}/invoices/{second['id']}/pdf",
        f"/my-credits/accounts/{second_own}/statement.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
    # A cancelled invoice is not on the page, and not downloadable either.
    assert api.delete(f"/accounts/{own}/invoices/{mine['id']}").status_code == 200
    assert client.get(f"/my-credits/accounts/{own}/invoices/{mine['id']}/pdf").status_code == 404

    anonymous = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert anonymous.get(f"/my-credits/accounts/{own}/statement.pdf").status_code == 401
    configure(api, myCreditsEnabled=False)
    assert client.get(f"/my-credits/accounts/{own}/statement.pdf").status_code == 403
