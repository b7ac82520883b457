"""Documents: what goes on a PDF invoice and a PDF account statement, read with the same
services as the API (invoices.service, invoices.overdue_days.Lateness, ledger.statements), and
the store's identity on them (printed name, logo, payment instructions).

Everything is read inside the caller's session into plain values (documents/pdf.py), so the
rendering itself runs after the transaction has ended."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.dates import parse_bound, store_zone
from customer_credit.documents import pdf
from customer_credit.errors import InvalidInput, NotFound, field_error
from customer_credit.invoices import service as invoices
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.ledger import statements
from customer_credit.ledger.models import CREDIT
from customer_credit.ledger.statements import LedgerEntry
from customer_credit.paging import Window
from customer_credit.stores import service as stores
from customer_credit.stores.models import Store
from customer_credit.validation import clean_text

MAX_DISPLAY_NAME = 200
MAX_LOGO_BYTES = 256 * 1024
# A logo is printed in a 45 x 18 mm box: more pixels than this only costs memory to decode.
MAX_LOGO_PIXELS = 2000
PNG, JPEG = "image/png", "image/jpeg"
_MAGIC = ((b"\x89PNG\r\n\x1a\n", PNG, "PNG"), (b"\xff\xd8\xff", JPEG, "JPEG"))
# A statement PDF lists every entry of its period; past this many the period must be shorter.
MAX_STATEMENT_ENTRIES = 5000
PDF_MEDIA_TYPE = "application/pdf"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
Until = tuple[datetime, bool]


@dataclass(frozen=True)
class Download:
    """A document read from the database and the file name to send it under; `render()` it
    after the session has ended (rendering needs no database)."""

    filename: str
    document: pdf.InvoiceDocument | pdf.StatementDocument

    def render(self) -> bytes:
        if isinstance(self.document, pdf.InvoiceDocument):
            return pdf.render_invoice(self.document)
        return pdf.render_statement(self.document)


# --- The store's identity ------------------------------------------------------------------


def store_identity(session: Session, store_id: int) -> pdf.Identity:
    config = stores.get_config(session, store_id)
    store = session.get(Store, store_id)
    return pdf.Identity(
        name=config.display_name or (store.name if store is not None else ""),
        logo=config.logo,
        payment_instructions=config.payment_instructions,
        currency=config.currency or "USD",
        zone=store_zone(config),
    )


def clean_display_name(raw: str) -> str | None:
    """The name printed on documents; empty means the store's name."""
    text = clean_text("displayName", raw.strip(), max_length=MAX_DISPLAY_NAME, allow_newlines=False)
    return text or None


def clean_logo(data: bytes) -> tuple[bytes, str]:
    """A logo upload: PNG or JPEG by its first bytes (whatever its name or declared type), at
    most 256 KiB, and an image that decodes whole, so that no document fails on it later.
    Returns the bytes and their media type."""
    if not data:
        raise field_error("logo", "is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise field_error("logo", f"must be at most {MAX_LOGO_BYTES // 1024} KiB")
    found = next(((media, kind) for magic, media, kind in _MAGIC if data.startswith(magic)), None)
    if found is None:
        raise field_error("logo", "must be a PNG or JPEG image")
    media_type, kind = found
    try:
        with Image.open(BytesIO(data)) as image:
            if image.format != kind:
                raise field_error("logo", "must be a PNG or JPEG image")
            width, height = image.size
            if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
                raise field_error("logo", f"must be at most {MAX_LOGO_PIXELS} x {MAX_LOGO_PIXELS} pixels")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # SyntaxError is how Pillow reports some malformed PNG chunks.
        raise field_error("logo", "is not a readable PNG or JPEG image") from None
    return data, media_type


def save_identity(
    session: Session,
    store_id: int,
    *,
    display_name: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
    attach_invoice_pdf: bool | None = None,
) -> None:
    """Sets the printed name; a new logo (checked by clean_logo) replaces the old one, and
    `remove_logo` takes it away. `attach_invoice_pdf`: whether reminder e-mails carry the
    invoice's PDF (None keeps it). Anything invalid raises before anything is saved."""
    values: dict = {"display_name": clean_display_name(display_name)}
    if attach_invoice_pdf is not None:
        values["attach_invoice_pdf"] = attach_invoice_pdf
    if logo:
        values["logo"], values["logo_media_type"] = clean_logo(logo)
    elif remove_logo:
        values["logo"], values["logo_media_type"] = None, None
    stores.save_config(session, store_id, values)


# --- Invoices ------------------------------------------------------------------------------


def invoice_document(
    session: Session, principal: Principal, account_public_id: str, invoice_id: str, *, now: datetime
) -> pdf.InvoiceDocument:
    """The invoice as the API shows it at `now` (the request's clock): 404 InvoiceNotFound
    for another account's or another store's invoice."""
    invoice = invoices.get_invoice(session, principal, account_public_id, invoice_id)
    return document_of_invoice(session, invoice, session.get(Account, invoice.account_id), now=now)


def document_of_invoice(
    session: Session, invoice: Invoice, account: Account | None, *, now: datetime
) -> pdf.InvoiceDocument:
    """An invoice already read (and checked to be the caller's) with its figures at `now`."""
    config = stores.get_config(session, invoice.store_id)
    late = Lateness.of_store(config, now).of(invoice)
    return pdf.InvoiceDocument(
        identity=store_identity(session, invoice.store_id),
        invoice_id=invoice.public_id,
        friendly_id=invoice.friendly_id,
        account_id=account.public_id if account is not None else "",
        owner_email=account.email if account is not None else "",
        installment=invoice.installment,
        installments=invoice.number_of_installments,
        order_id=invoice.order_id,
        payment_id=invoice.payment_id,
        reference=invoice.order_reference,
        status=invoice.status,
        value_cents=invoice.value_cents,
        paid_cents=invoice.paid_cents,
        # As the console shows it: a Paid or Cancelled invoice owes nothing more.
        owed_cents=invoice.value_cents - invoice.paid_cents if invoice.status == OPENED else 0,
        created_at=invoice.created_at,
        due_at=invoice.due_at,
        original_due_at=invoice.original_due_at,
        days_overdue=late.days,
        interest_cents=late.interest_cents,
        payment_link=invoice.payment_link,
        as_of=now,
        credited_cents=invoice.credited_cents or 0,
        written_off_cents=invoice.written_off_cents or 0,
    )


def invoice_download(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    now: datetime,
    statuses: tuple[str, ...] | None = None,
) -> Download:
    """`statuses`: only invoices in one of these (My Credits shows no cancelled ones); any other
    is a 404 like an invoice that does not exist."""
    document = invoice_document(session, principal, account_public_id, invoice_id, now=now)
    if statuses is not None and document.status not in statuses:
        raise NotFound(f"no invoice {invoice_id} on account {account_public_id}", code="InvoiceNotFound")
    return Download(invoice_filename(document), document)


def invoice_filename(document: pdf.InvoiceDocument) -> str:
    return safe_filename(f"invoice-{document.friendly_id}")


def reminder_attachment(
    session: Session, invoice: Invoice, account: Account, *, now: datetime
) -> Download | None:
    """The invoice's PDF for a reminder sent at `now` (the figures of the reminder's body), when
    the store attaches it (`attach_invoice_pdf`); None otherwise. Read in the caller's session;
    render it after the session has ended."""
    if not stores.get_config(session, invoice.store_id).attach_invoice_pdf:
        return None
    document = document_of_invoice(session, invoice, account, now=now)
    return Download(invoice_filename(document), document)


# --- Statements ----------------------------------------------------------------------------


def api_window(raw_from: str | None, raw_to: str | None) -> tuple[datetime | None, Until | None]:
    """`from` and `to` read as the statements endpoint reads dateFrom and dateTo (ISO 8601, a
    date alone covering its whole UTC day), refused when `to` comes before `from`."""
    since = parse_bound("from", raw_from, upper=False)
    until = parse_bound("to", raw_to, upper=True)
    return _checked(since[0] if since else None, until)


def local_window(zone: ZoneInfo, raw_from: str, raw_to: str) -> tuple[datetime | None, Until | None]:
    """A period picked as days in the store's time zone (the console, My Credits): from the first
    moment of `from` to the end of `to`, either left empty for no bound."""
    since = _local_day("from", raw_from)
    until = _local_day("to", raw_to)
    start = datetime.combine(since, time.min, tzinfo=zone) if since else None
    end = (datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone), False) if until else None
    return _checked(start, end)


def _local_day(field: str, raw: str) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or day in (date.min, date.max):
        raise field_error(field, "must be a date (YYYY-MM-DD)")
    return day


def _checked(since: datetime | None, until: Until | None) -> tuple[datetime | None, Until | None]:
    if since is not None and until is not None:
        moment, inclusive = until
        if moment < since or (moment == since and not inclusive):
            raise field_error("to", "must not be before from")
    return since, until


def describe(entry: LedgerEntry) -> str:
    """An entry's details as the console's statement shows them (its metadata)."""
    details = "; ".join(f"{key}: {value}" for key, value in (entry.meta or {}).items())
    if entry.origin == CREDIT:
        return (
            f"Credit limit or tolerance change; {details}" if details else "Credit limit or tolerance change"
        )
    return details


def statement_document(
    session: Session,
    principal: Principal,
    account_public_id: str,
    *,
    since: datetime | None,
    until: Until | None,
    now: datetime,
) -> pdf.StatementDocument:
    """Every entry of the window with the balance after it, and the balances, from the same
    function as GET …/statements (ledger.statements.list_statements) for the same window."""
    page = statements.list_statements(
        session,
        principal,
        account_public_id,
        since=since,
        until=until,
        window=Window(0, MAX_STATEMENT_ENTRIES),
    )
    if page.count > MAX_STATEMENT_ENTRIES:
        raise InvalidInput(
            f"the period has {page.count} entries; a statement PDF lists at most "
            f"{MAX_STATEMENT_ENTRIES}: choose a shorter period",
            code="PeriodTooLong",
        )
    rows = [
        pdf.StatementRow(
            at=line.entry.created_at,
            origin=line.entry.origin,
            description=describe(line.entry),
            value_cents=line.entry.value_cents,
            balance_after_cents=line.balance_after_cents,
        )
        for line in page.lines
    ]
    return pdf.StatementDocument(
        identity=store_identity(session, principal.store_id),
        account_id=page.account.public_id,
        owner_email=page.account.email,
        since=since,
        until=until,
        previous_balance_cents=page.previous_balance_cents,
        interval_balance_cents=page.interval_balance_cents,
        closing_balance_cents=rows[-1].balance_after_cents if rows else page.previous_balance_cents,
        current_balance_cents=page.current_balance_cents,
        rows=rows,
        as_of=now,
    )


def statement_download(
    session: Session,
    principal: Principal,
    account_public_id: str,
    *,
    since: datetime | None,
    until: Until | None,
    now: datetime,
) -> Download:
    document = statement_document(session, principal, account_public_id, since=since, until=until, now=now)
    zone = document.identity.zone
    first = pdf.day(since, zone) if since else "start"
    if until is None:
        last = pdf.day(now, zone)
    else:
        moment, inclusive = until
        last = pdf.day(moment if inclusive else moment - timedelta(microseconds=1), zone)
    return Download(safe_filename(f"statement-{account_public_id}-{first}-{last}"), document)


def safe_filename(stem: str) -> str:
    """`stem`.pdf, in characters any Content-Disposition header and file system take as they are."""
    return _UNSAFE_IN_FILENAME.sub("_", stem)[:150] + ".pdf"


def default_period(zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    """The period a statement form starts with: this month so far, in the store's time zone."""
    today = now.astimezone(zone).date()
    return today.replace(day=1), today
