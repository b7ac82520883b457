"""documents/pdf.py alone: amounts from cents, determinism, long statements over several pages."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from customer_credit.documents import pdf
from tests.documents.support import has_image, pdf_text, png

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def identity(**changes) -> pdf.Identity:
    return pdf.Identity(
        **{
            "name": "Render Store",
            "logo": None,
            "payment_instructions": "Pay <b>now</b> & here",
            "currency": "BRL",
            "zone": ZoneInfo("America/Sao_Paulo"),
            **changes,
        }
    )


def statement(rows: int, **changes) -> pdf.StatementDocument:
    lines = [
        pdf.StatementRow(AT + timedelta(minutes=k), "Invoice", f"transactionId: t{k}", -101, -101 * (k + 1))
        for k in range(rows)
    ]
    return pdf.StatementDocument(
        identity=identity(**changes),
        account_id="acc-1",
        owner_email="o@example.com",
        since=None,
        until=(AT + timedelta(days=1), False),
        previous_balance_cents=0,
        interval_balance_cents=-101 * rows,
        closing_balance_cents=-101 * rows,
        current_balance_cents=-101 * rows,
        rows=lines,
        as_of=AT,
    )


def test_amounts_are_exact_from_cents():
    assert [pdf.amount(cents) for cents in (0, 5, -5, 12345, -123450, 10**13)] == [
        "0.00",
        "0.05",
        "-0.05",
        "123.45",
        "-1234.50",
        "100000000000.00",
    ]


def test_the_same_document_renders_to_the_same_bytes():
    assert pdf.render_statement(statement(3)) == pdf.render_statement(statement(3))
    with_logo = statement(3, logo=png())
    assert pdf.render_statement(with_logo) == pdf.render_statement(with_logo)
    assert has_image(pdf.render_statement(with_logo)) and not has_image(pdf.render_statement(statement(3)))


def test_a_long_statement_runs_over_pages_with_every_entry():
    text = pdf_text(pdf.render_statement(statement(250)))
    pages = [int(number) for number in re.findall(r"Page (\d+)\s*$", text, re.MULTILINE)]
    assert len(pages) > 1 and pages == list(range(1, len(pages) + 1))
    for k in range(250):
        row = rf"\stransactionId: t{k}\s+-1\.01\s+{re.escape(pdf.amount(-101 * (k + 1)))}\s*$"
        assert re.search(row, text, re.MULTILINE), k
    assert re.search(r"Entries\s+250\s*$", text, re.MULTILINE)
    # An exclusive upper bound is shown as the last minute before it, in the store's zone.
    assert "the first entry to 2026-05-02 08:59 (America/Sao_Paulo)" in text
    # Markup in the store's texts is printed as it is, never interpreted.
    assert "Pay <b>now</b> & here" in text
