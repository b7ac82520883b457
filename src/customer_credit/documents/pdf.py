"""Rendering PDF documents (reportlab): an invoice, and an account statement for a period.

The functions here only lay out figures the service has already read (documents/service.py):
they never query, count days or compute interest. Amounts are written from cents with two
decimals and no grouping ("1234.50"), dates in the store's time zone as YYYY-MM-DD (and HH:MM
for moments), so a document reads the same whatever the store's locale. Documents are rendered
in reportlab's invariant mode: the same figures give the same bytes (the PDF's creation date
is fixed; the moment a document was made is printed on it, from the caller's clock)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from customer_credit.money import from_cents

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
LOGO_BOX = (45 * mm, 18 * mm)
# Statement lines per table: reportlab splits a long table across pages, but one table of
# thousands of rows is slow to split; several short ones render in linear time.
ROWS_PER_TABLE = 100
CREATOR = "Customer Credit"

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontName="Helvetica", fontSize=9, leading=11)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10, textColor=colors.HexColor("#444444"))
STORE = ParagraphStyle("store", parent=BODY, fontName="Helvetica-Bold", fontSize=16, leading=19)
TITLE = ParagraphStyle("title", parent=BODY, fontName="Helvetica-Bold", fontSize=13, leading=16, spaceAfter=4)
HEADING = ParagraphStyle("heading", parent=BODY, fontName="Helvetica-Bold", fontSize=10, leading=13)
NUMBER = ParagraphStyle("number", parent=BODY, alignment=TA_RIGHT)
HEADING_NUMBER = ParagraphStyle("heading_number", parent=HEADING, alignment=TA_RIGHT)
LABEL_WIDTH = 62 * mm

_GRID = colors.HexColor("#bbbbbb")
_SHADE = colors.HexColor("#eeeeee")


@dataclass(frozen=True)
class Identity:
    """Who issues the document: the store's printed name, its logo (PNG or JPEG, already
    checked when it was uploaded), its payment instructions, currency and time zone."""

    name: str
    logo: bytes | None
    payment_instructions: str | None
    currency: str
    zone: ZoneInfo


@dataclass(frozen=True)
class InvoiceDocument:
    identity: Identity
    invoice_id: str
    friendly_id: str
    account_id: str
    owner_email: str
    installment: int
    installments: int
    order_id: str
    payment_id: str | None
    reference: str | None
    status: str
    value_cents: int
    paid_cents: int
    owed_cents: int
    created_at: datetime
    due_at: datetime
    original_due_at: datetime
    days_overdue: int
    interest_cents: int
    payment_link: str | None
    as_of: datetime
    # Taken off the value by credit notes and write-offs (credit_control.adjustments).
    credited_cents: int = 0
    written_off_cents: int = 0


@dataclass(frozen=True)
class StatementRow:
    at: datetime
    origin: str
    description: str
    value_cents: int
    balance_after_cents: int


@dataclass(frozen=True)
class StatementDocument:
    identity: Identity
    account_id: str
    owner_email: str
    # The window as the statements endpoint reads it: from (inclusive), to and whether inclusive.
    since: datetime | None
    until: tuple[datetime, bool] | None
    previous_balance_cents: int
    interval_balance_cents: int
    closing_balance_cents: int
    current_balance_cents: int
    rows: list[StatementRow]
    as_of: datetime


def amount(cents: int) -> str:
    """Exact from cents, two decimals, no grouping: 123450 -> "1234.50"."""
    return f"{from_cents(cents):f}"


def day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d")


def local_moment(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _text(value: object, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text: markup characters are escaped, line breaks kept."""
    return Paragraph(escape(str(value)).replace("\n", "<br/>"), style)


def _logo(data: bytes) -> Image:
    width, height = ImageReader(BytesIO(data)).getSize()
    scale = min(LOGO_BOX[0] / width, LOGO_BOX[1] / height)
    return Image(BytesIO(data), width=width * scale, height=height * scale)


def _header(identity: Identity) -> list[Flowable]:
    name = _text(identity.name, STORE)
    if identity.logo is None:
        return [name, Spacer(1, 4 * mm)]
    table = Table([[_logo(identity.logo), name]], colWidths=[LOGO_BOX[0] + 4 * mm, None])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [table, Spacer(1, 4 * mm)]


def _details(rows: list[tuple[str, object]]) -> Table:
    """Label / value pairs in two columns."""
    table = Table(
        [[_text(label, SMALL), _text(value)] for label, value in rows],
        colWidths=[LABEL_WIDTH, CONTENT_WIDTH - LABEL_WIDTH],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _GRID),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _instructions(identity: Identity) -> list[Flowable]:
    if not identity.payment_instructions:
        return []
    return [
        Spacer(1, 6 * mm),
        _text("How to pay", HEADING),
        _text(identity.payment_instructions),
    ]


def _build(title: str, identity: Identity, story: list[Flowable], footer: str) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 5 * mm,
        title=title,
        author=identity.name,
        subject=title,
        creator=CREATOR,
        invariant=1,
    )

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(MARGIN, MARGIN, footer)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN, f"Page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _zone_name(zone: ZoneInfo) -> str:
    return zone.key or "UTC"


def render_invoice(invoice: InvoiceDocument) -> bytes:
    identity = invoice.identity
    zone = identity.zone
    rows: list[tuple[str, object]] = [
        ("Invoice id", invoice.invoice_id),
        ("Friendly id", invoice.friendly_id),
        ("Account", invoice.account_id),
        ("Account owner", invoice.owner_email),
        ("Installment", f"{invoice.installment} of {invoice.installments}"),
        ("Order", invoice.order_id or "-"),
    ]
    if invoice.payment_id:
        rows.append(("Payment id", invoice.payment_id))
    if invoice.reference:
        rows.append(("Reference", invoice.reference))
    rows += [
        ("Status", invoice.status),
        ("Issued", day(invoice.created_at, zone)),
        ("Due date", day(invoice.due_at, zone)),
        ("Original due date", day(invoice.original_due_at, zone)),
        (f"Value ({identity.currency})", amount(invoice.value_cents)),
    ]
    if invoice.credited_cents:
        rows.append((f"Credit notes, off the value ({identity.currency})", amount(invoice.credited_cents)))
    if invoice.written_off_cents:
        rows.append((f"Written off, off the value ({identity.currency})", amount(invoice.written_off_cents)))
    rows += [
        (f"Paid ({identity.currency})", amount(invoice.paid_cents)),
        (f"Still owed ({identity.currency})", amount(invoice.owed_cents)),
        ("Days overdue", str(invoice.days_overdue)),
        (f"Late interest ({identity.currency})", amount(invoice.interest_cents)),
    ]
    if invoice.payment_link:
        rows.append(("Payment link", invoice.payment_link))
    as_of = f"{local_moment(invoice.as_of, zone)} ({_zone_name(zone)})"
    story = [
        *_header(identity),
        _text(f"Invoice {invoice.friendly_id}", TITLE),
        _text(
            f"Dates in {_zone_name(zone)}. Days overdue and late interest as of {as_of}; "
            "late interest is not part of the value.",
            SMALL,
        ),
        Spacer(1, 3 * mm),
        _details(rows),
        *_instructions(identity),
    ]
    title = f"Invoice {invoice.friendly_id}"
    return _build(title, identity, story, f"{identity.name} - {title} - as of {as_of}")


def _period(statement: StatementDocument) -> str:
    zone = statement.identity.zone
    start = local_moment(statement.since, zone) if statement.since else "the first entry"
    if statement.until is None:
        end = local_moment(statement.as_of, zone)
    else:
        moment, inclusive = statement.until
        # An exclusive bound (the next midnight of a date) is shown as the last minute before it.
        end = local_moment(moment if inclusive else moment - timedelta(microseconds=1), zone)
    return f"{start} to {end} ({_zone_name(zone)})"


def _statement_tables(statement: StatementDocument) -> list[Flowable]:
    zone = statement.identity.zone
    currency = statement.identity.currency
    header = [
        _text("Date", HEADING),
        _text("Origin", HEADING),
        _text("Description", HEADING),
        _text(f"Value ({currency})", HEADING_NUMBER),
        _text(f"Balance ({currency})", HEADING_NUMBER),
    ]
    opening = [
        _text(local_moment(statement.since, zone) if statement.since else ""),
        _text(""),
        _text("Previous balance"),
        _text(""),
        _text(amount(statement.previous_balance_cents), NUMBER),
    ]
    lines = [
        [
            _text(local_moment(row.at, zone)),
            _text(row.origin),
            _text(row.description, SMALL),
            _text(amount(row.value_cents), NUMBER),
            _text(amount(row.balance_after_cents), NUMBER),
        ]
        for row in statement.rows
    ]
    body = [opening, *lines]
    widths = [27 * mm, 19 * mm, None, 27 * mm, 28 * mm]
    style = TableStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, _GRID),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ]
    )
    tables: list[Flowable] = []
    for start in range(0, len(body), ROWS_PER_TABLE):
        table = Table([header, *body[start : start + ROWS_PER_TABLE]], colWidths=widths, repeatRows=1)
        table.setStyle(style)
        tables.append(table)
    return tables


def render_statement(statement: StatementDocument) -> bytes:
    identity = statement.identity
    currency = identity.currency
    as_of = f"{local_moment(statement.as_of, identity.zone)} ({_zone_name(identity.zone)})"
    summary: list[tuple[str, object]] = [
        ("Account", statement.account_id),
        ("Account owner", statement.owner_email),
        ("Period", _period(statement)),
        (f"Previous balance ({currency})", amount(statement.previous_balance_cents)),
        (f"Entries in the period ({currency})", amount(statement.interval_balance_cents)),
        (f"Balance at the end of the period ({currency})", amount(statement.closing_balance_cents)),
        (f"Current balance ({currency})", amount(statement.current_balance_cents)),
        ("Entries", str(len(statement.rows))),
    ]
    story = [
        *_header(identity),
        _text("Account statement", TITLE),
        _text(
            f"Oldest first, as of {as_of}. A negative balance is what the customer owes. Credit "
            "entries change the credit limit, not the balance; the entries' sum includes them.",
            SMALL,
        ),
        Spacer(1, 3 * mm),
        _details(summary),
        Spacer(1, 5 * mm),
        *_statement_tables(statement),
        *_instructions(identity),
    ]
    title = f"Statement of account {statement.account_id}"
    return _build(title, identity, story, f"{identity.name} - {title} - as of {as_of}")
