"""The invoice's PDF attached to reminder e-mails (the store's `attach_invoice_pdf`, set in the
console's Documents section): rendered with the figures of the e-mail's body at the worker's
clock, named like the API's download; no attachment when the setting is off; a PDF that cannot
be rendered fails its reminder instead of sending it bare or twice. Against the real SMTP sink,
with a frozen clock, on SQLite and PostgreSQL."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from customer_credit.documents import service as documents
from customer_credit.reminders.models import FAILED, Reminder
from customer_credit.stores import service as stores
from customer_credit.users import service as users
from tests.console.support import signed_in
from tests.documents.support import pdf_text, set_invoice
from tests.events.support import run_worker
from tests.reminders.test_reminders import bill, customer, send_time, setup_store, texts

PDF = "application/pdf"


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashes():
    """The console tests sign operators in; a cheap Argon2id keeps that fast (the cost itself is
    checked in tests/console/test_passwords.py)."""
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()


def attach_pdfs(store, on: bool = True) -> None:
    with store.database.write() as session:
        documents.save_identity(session, store.id, display_name="", attach_invoice_pdf=on)


def attaching(store) -> bool:
    with store.database.read() as session:
        return stores.get_config(session, store.id).attach_invoice_pdf


def pdf_parts(message) -> list:
    return [part for part in message.iter_attachments() if part.get_content_type() == PDF]


def figure(text: str, label: str) -> str:
    """The value on a label's line of `pdftotext -layout` output."""
    found = re.search(rf"^\s*{re.escape(label)}\s+(\S+)\s*$", text, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{text}"
    return found.group(1)


def test_each_reminder_carries_its_invoice_pdf_with_the_figures_of_the_body(
    api, database, store, mailbox, frozen_clock
):
    setup_store(api, database, store)
    attach_pdfs(store)
    account_id, email, holder = customer(api)
    (invoice,) = bill(api, database, store, account_id, "100")
    set_invoice(store, invoice["id"], paid_cents=3000)  # 70.00 still owed
    after = send_time(invoice, 2, "10:00:00", "after") + timedelta(minutes=7)

    run_worker(database, after)
    run_worker(database, after + timedelta(hours=1))  # exactly once, attachment or not
    (message,) = mailbox.to(email)
    assert message["Cc"] == holder
    (part,) = pdf_parts(message)
    assert part.get_content_disposition() == "attachment"
    data = part.get_content()
    text = pdf_text(data)

    assert invoice["id"] in text and invoice["friendlyId"] in text
    assert figure(text, "Still owed (BRL)") == "70.00"
    assert figure(text, "Days overdue") == "2"
    interest = figure(text, "Late interest (BRL)")
    # The body's figures, in the store's pt_BR: the same owed amount and interest.
    plain, html = texts(message)
    plain = plain.replace("\xa0", " ")
    assert "R$ 70,00" in plain and f"R$ {interest.replace('.', ',')}" in plain
    assert "vencida há 2 dias" in plain and html  # in the pt_BR store's language
    # As of the worker's moment (São Paulo time), not the wall clock's.
    assert "as of 2026-12-03 10:07 (America/Sao_Paulo)" in " ".join(text.split())

    # The API's download at the same moment: the same name and, rendered invariantly, the same bytes.
    frozen_clock.set(after)
    download = api.get(f"/accounts/{account_id}/invoices/{invoice['id']}/pdf")
    assert download.status_code == 200, download.text
    assert part.get_filename() == f"invoice-{invoice['friendlyId']}.pdf"
    assert f'filename="{part.get_filename()}"' in download.headers["content-disposition"]
    assert data == download.content


def test_with_the_setting_off_the_email_has_no_attachment(api, database, store, mailbox):
    setup_store(api, database, store)
    assert not attaching(store)  # the default
    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "40")

    run_worker(database, send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1))
    (message,) = mailbox.to(email)
    assert list(message.iter_attachments()) == []
    assert message.get_content_type() == "multipart/alternative"  # as before the setting existed

    attach_pdfs(store)
    attach_pdfs(store, on=False)
    run_worker(database, send_time(invoice, 2, "10:00:00", "after") + timedelta(minutes=1))
    first, second = mailbox.to(email)
    assert list(second.iter_attachments()) == []


def test_a_pdf_that_cannot_be_rendered_fails_its_reminder_for_good(
    api, database, store, mailbox, monkeypatch
):
    setup_store(api, database, store)
    attach_pdfs(store)
    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "40")
    moment = send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1)

    def broken(_download):
        raise ValueError("no fonts today")

    monkeypatch.setattr(documents.Download, "render", broken)
    run_worker(database, moment)
    monkeypatch.undo()
    run_worker(database, moment + timedelta(hours=1))
    assert mailbox.to(email) == []
    with database.read() as session:
        reminder = session.scalars(select(Reminder).where(Reminder.store_id == store.id)).one()
        assert reminder.status == FAILED and reminder.sent_at is None
        assert "cannot render the invoice PDF: ValueError: no fonts today" in (reminder.last_error or "")


def test_the_console_checkbox_round_trips_and_a_viewer_cannot_change_it(app, store):
    console = signed_in(app, store)
    page = console.get("/admin/settings")
    assert "Attach the invoice PDF to reminder e-mails" in page.text
    assert 'name="attachInvoicePdf" type="checkbox" aria-describedby="attachInvoicePdf-note">' in page.text

    saved = console.post("/admin/settings/documents", {"displayName": "Kept Name", "attachInvoicePdf": "on"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings#documents"
    assert attaching(store)
    page = console.get("/admin/settings")
    assert 'aria-describedby="attachInvoicePdf-note" checked>' in page.text
    assert 'value="Kept Name"' in page.text

    # A form without the token changes nothing.
    refused = console.post("/admin/settings/documents", {"displayName": "Kept Name"}, token=False)
    assert refused.status_code == 403 and attaching(store)

    # A refused save keeps what was ticked in the form, and saves nothing.
    refused = console.post("/admin/settings/documents", {"displayName": "x" * 201})
    assert refused.status_code == 400 and attaching(store)
    assert 'aria-describedby="attachInvoicePdf-note">' in refused.text  # shown as posted: unticked

    viewer = signed_in(app, store, role="viewer")
    page = viewer.get("/admin/settings")
    assert 'id="attachInvoicePdf"' in page.text  # seen, in a disabled fieldset
    assert viewer.post("/admin/settings/documents", {"displayName": "Kept Name"}).status_code == 403
    assert attaching(store)

    assert console.post("/admin/settings/documents", {"displayName": "Kept Name"}).status_code == 303
    assert not attaching(store)
    with store.database.read() as session:
        assert stores.get_config(session, store.id).display_name == "Kept Name"
