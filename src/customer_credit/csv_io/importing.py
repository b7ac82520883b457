"""CSV imports: accounts (open or update) and the bulk settlement of invoices.

Every row goes through the same service functions as the API, inside one write transaction,
each row in its own savepoint. A preview runs exactly that and rolls back, so what it shows
(each change, each row's error) is what applying would do; applying commits only when no row
failed, so a file is applied whole or not at all. Each row says what it would leave the data
as (not what to add to it), so importing the same file again changes nothing."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from customer_credit.accounts import queries as account_queries
from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import CLOSED, OPEN, Account
from customer_credit.auth import resources
from customer_credit.auth.principal import Principal
from customer_credit.console import numbers
from customer_credit.console.formatting import presentation_of
from customer_credit.credit_control import trust
from customer_credit.csv_io.cells import read_text_cell
from customer_credit.db.base import utcnow
from customer_credit.db.engine import Database
from customer_credit.errors import DomainError, NotFound, field_error
from customer_credit.invoices import service as invoices
from customer_credit.invoices.models import Invoice
from customer_credit.money import (
    MoneyError,
    from_cents,
    parse_rate,
    rate_for_wire,
    rate_from_units,
    rate_to_units,
    to_cents,
)
from customer_credit.stores import service as stores
from customer_credit.validation import clean_path_id, normalize_email

ACCOUNTS = "accounts"
SETTLEMENTS = "settlements"
KINDS = (ACCOUNTS, SETTLEMENTS)
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000

CREATE, UPDATE, PAY, UNCHANGED, SKIP, ERROR = "create", "update", "pay", "unchanged", "skip", "error"


@dataclass(frozen=True)
class RowResult:
    line: int
    key: str
    action: str
    detail: str


@dataclass
class ImportResult:
    kind: str
    rows: list[RowResult] = field(default_factory=list)
    applied: bool = False
    file_error: str | None = None

    @property
    def errors(self) -> list[RowResult]:
        return [row for row in self.rows if row.action == ERROR]

    @property
    def changes(self) -> list[RowResult]:
        return [row for row in self.rows if row.action in (CREATE, UPDATE, PAY)]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


class _Rollback(Exception):
    def __init__(self, rows: list[RowResult]):
        super().__init__("rolled back")
        self.rows = rows


class FileProblem(ValueError):
    """The file as a whole cannot be read (encoding, size, header)."""


def decode(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise FileProblem(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB; split it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # What Excel saves as "CSV" on a Windows machine in Western Europe or the Americas.
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise FileProblem("the file is not UTF-8 (or Windows-1252) text; save it as CSV UTF-8") from None


def _rows(text: str, required_any: tuple[tuple[str, ...], ...]) -> list[tuple[int, dict[str, str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem("the file is empty") from None
    except csv.Error as error:
        raise FileProblem(f"line 1: {error}") from None
    names = [name.strip() for name in header]
    for alternatives in required_any:
        if not any(name in names for name in alternatives):
            raise FileProblem(f"the header needs a column {' or '.join(alternatives)}")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise FileProblem(f"the file has more than {MAX_ROWS} rows; split it")
            line_number = reader.line_num
            if len(values) > len(names):
                rows.append((line_number, {"__error__": f"{len(values)} cells for {len(names)} columns"}))
                continue
            rows.append((line_number, dict(zip(names, values, strict=False))))
    except csv.Error as error:
        raise FileProblem(f"line {reader.line_num}: {error}") from None
    return rows


def _amount(column: str, raw: str, locale: str | None = None):
    """An amount in the store's locale (1.500,00 in pt_BR) or plain (1500.00)."""
    try:
        return numbers.parse_amount(raw, locale)
    except MoneyError as error:
        raise field_error(column, str(error)) from None


def _rate(column: str, raw: str, locale: str | None = None):
    """A rate as a share (0.05, as exports write it), with the locale's decimal symbol (0,05)."""
    value = numbers.parse_number(raw, locale)
    try:
        return parse_rate(raw if value is None else value)
    except MoneyError as error:
        raise field_error(column, str(error)) from None


def _account_row(
    session: Session, principal: Principal, row: dict[str, str], locale: str | None = None
) -> tuple[str, str, str]:
    """Opens the account, or brings an open one to what the row says. Returns (key, action,
    detail)."""
    document = row.get("document", "").strip()
    document_type = row.get("documentType", "").strip()
    email = read_text_cell(row.get("email", "")).strip()
    key = row.get("id", "").strip() or (f"{document}_{document_type}" if document else "")
    status = row.get("status", "").strip()
    if status == CLOSED:
        return key, SKIP, "closed accounts are not imported"
    if status not in ("", OPEN):
        raise field_error("status", "must be Open, Closed or empty")
    for column, value in (("document", document), ("documentType", document_type), ("email", email)):
        if not value:
            raise field_error(column, "is required")
    limit_raw = row.get("creditLimit", "").strip()
    tolerance_raw = row.get("tolerance", "").strip()
    limit = _amount("creditLimit", limit_raw, locale) if limit_raw else None
    tolerance = _rate("tolerance", tolerance_raw, locale) if tolerance_raw else None
    trust_raw = row.get("trustLevel", "").strip()
    trust_level = trust.check_level(trust_raw) if trust_raw else None
    description = read_text_cell(row.get("description", "")) or None
    public_id = clean_path_id("id", key, max_length=200)
    existing = account_queries.find_open(session, principal.store_id, public_id)
    if existing is None:
        opened = accounts.open_account(
            session,
            principal,
            document=document,
            document_type=document_type,
            email=email,
            credit_limit=limit,
            tolerance=tolerance,
            description=description,
            public_id=public_id,
        )
        detail = f"opened for {opened.email}, credit limit {from_cents(opened.credit_limit_cents)}"
        if trust_level is not None:
            _opened, changed = trust.set_trust_level(session, principal, public_id, trust_level, now=utcnow())
            if changed:
                detail += f", trust level {trust_level}"
        return key, CREATE, detail
    changes = _account_changes(existing, document, document_type, email, limit, tolerance)
    trust_before = existing.trust_level
    note = ""
    if description is not None and description != (existing.description or None):
        note = " (the description is set only when an account is opened; it was left as it is)"
    if not changes and trust_level in (None, trust_before):
        return key, UNCHANGED, "already as in the file" + note
    if changes:
        limit_changed = any(change.startswith("creditLimit") for change in changes)
        tolerance_changed = any(change.startswith("tolerance") for change in changes)
        accounts.update_account(
            session,
            principal,
            public_id,
            email=email,
            document=document,
            document_type=document_type,
            credit_limit=limit if limit_changed else None,
            tolerance=tolerance if tolerance_changed else None,
        )
    if trust_level is not None and trust_level != trust_before:
        trust.set_trust_level(session, principal, public_id, trust_level, now=utcnow())
        changes.append(f"trustLevel: {trust_before} → {trust_level}")
    return key, UPDATE, "; ".join(changes) + note


def _account_changes(account: Account, document, document_type, email, limit, tolerance) -> list[str]:
    changes = []
    if normalize_email(email) != normalize_email(account.email):
        changes.append(f"email: {account.email} → {normalize_email(email)}")
    if document != account.document:
        changes.append(f"document: {account.document} → {document}")
    if document_type != account.document_type:
        changes.append(f"documentType: {account.document_type} → {document_type}")
    if limit is not None and to_cents(limit) != account.credit_limit_cents:
        changes.append(f"creditLimit: {from_cents(account.credit_limit_cents)} → {limit}")
    if tolerance is not None and rate_to_units(tolerance) != account.tolerance_units:
        before = rate_for_wire(rate_from_units(account.tolerance_units))
        changes.append(f"tolerance: {before} → {rate_for_wire(tolerance)}")
    return changes


def _find_invoice(session: Session, store_id: int, invoice_id: str, friendly_id: str) -> tuple[Invoice, str]:
    query = select(Invoice, Account.public_id).join(Account, Account.id == Invoice.account_id)
    query = query.where(Invoice.store_id == store_id)
    if invoice_id:
        query = query.where(Invoice.public_id == invoice_id)
    else:
        query = query.where(Invoice.friendly_id == friendly_id)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"no invoice {invoice_id or friendly_id}", code="InvoiceNotFound")
    invoice, account_id = row
    if invoice_id and friendly_id and invoice.friendly_id != friendly_id:
        raise field_error("friendlyId", f"does not match invoice {invoice_id}")
    return invoice, account_id


def _settlement_row(
    session: Session, principal: Principal, row: dict[str, str], locale: str | None = None
) -> tuple[str, str, str]:
    """Brings an invoice's paid amount (creditValue) to what the row says; an empty creditValue
    means the whole value. Payments go through invoices.service.pay_invoice."""
    invoice_id = (row.get("invoiceId") or row.get("id") or "").strip()
    friendly_id = row.get("friendlyId", "").strip()
    key = invoice_id or friendly_id
    if not key:
        raise field_error("invoiceId", "an invoiceId (or id) or a friendlyId is required")
    invoice, account_id = _find_invoice(session, principal.store_id, invoice_id, friendly_id)
    raw = row.get("creditValue", "").strip()
    target = to_cents(_amount("creditValue", raw, locale)) if raw else invoice.value_cents
    if target > invoice.value_cents:
        raise field_error(
            "creditValue", f"is more than the invoice's value ({from_cents(invoice.value_cents)})"
        )
    amount = target - invoice.paid_cents
    if amount == 0:
        return key, UNCHANGED, f"{invoice.status}, {from_cents(invoice.paid_cents)} paid, as in the file"
    if amount < 0:
        raise field_error(
            "creditValue",
            f"{from_cents(invoice.paid_cents)} is already paid, more than the file says; "
            "reverse the payment on the invoice page first",
        )
    invoices.pay_invoice(session, principal, account_id, invoice.public_id, value=from_cents(amount))
    state = (
        "now Paid"
        if invoice.status == "Paid"
        else f"{from_cents(invoice.paid_cents)} of {from_cents(invoice.value_cents)} paid"
    )
    return key, PAY, f"paid {from_cents(amount)} on {invoice.friendly_id} ({state})"


_HANDLERS: dict[str, tuple[Callable, tuple[tuple[str, ...], ...], str]] = {
    ACCOUNTS: (_account_row, (("document",), ("documentType",), ("email",)), resources.CREATE_ACCOUNTS),
    SETTLEMENTS: (_settlement_row, (("invoiceId", "id", "friendlyId"),), resources.PAY_INVOICE),
}


def run(db: Database, principal: Principal, kind: str, text: str, *, apply: bool) -> ImportResult:
    """Previews (apply=False) or applies the file; see the module's docstring."""
    if kind not in KINDS:
        return ImportResult(kind=kind, file_error=f"choose what the file holds: {' or '.join(KINDS)}")
    handler, required, resource = _HANDLERS[kind]
    try:
        principal.require(resource)
        if kind == ACCOUNTS:
            principal.require(resources.EDIT_CREDITS)
        parsed = _rows(text, required)
    except FileProblem as problem:
        return ImportResult(kind=kind, file_error=str(problem))
    except DomainError as error:
        return ImportResult(kind=kind, file_error=error.message)
    if not parsed:
        return ImportResult(kind=kind, file_error="the file has a header but no rows")
    try:
        with db.write() as session:
            locale = presentation_of(stores.get_config(session, principal.store_id)).locale
            results = []
            for line_number, row in parsed:
                results.append(_one_row(session, principal, handler, line_number, row, locale))
            if not apply or any(result.action == ERROR for result in results):
                raise _Rollback(results)
    except _Rollback as rollback:
        return ImportResult(kind=kind, rows=rollback.rows, applied=False)
    return ImportResult(kind=kind, rows=results, applied=True)


def _one_row(
    session: Session, principal: Principal, handler, line_number: int, row: dict, locale: str
) -> RowResult:
    if "__error__" in row:
        return RowResult(line_number, "", ERROR, row["__error__"])
    key = (
        row.get("id") or row.get("invoiceId") or row.get("friendlyId") or row.get("document") or ""
    ).strip()
    try:
        with session.begin_nested():
            key, action, detail = handler(session, principal, row, locale)
            session.flush()
    except DomainError as error:
        return RowResult(line_number, key, ERROR, error.message)
    except IntegrityError:
        return RowResult(line_number, key, ERROR, "conflicts with another row or a concurrent change")
    return RowResult(line_number, key, action, detail)
