"""CSV imports: accounts (open or update) and the bulk settlement of invoices.

Every row goes through the same service functions as the API; a row that fails leaves nothing
behind (savepoints, see `process`). A preview runs exactly that and rolls back, so what it
shows (each change, each row's error) is what applying would do. Each row says what it would
leave the data as (not what to add to it), so importing the same file again changes nothing,
and a row that names what an earlier row names is flagged and left out (`duplicates`). The
console runs files in chunks as worker jobs (csv_io.jobs); `run` does a whole file at once."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
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
# A row naming what an earlier row of the file names: left out (see `duplicates`).
DUPLICATE = "duplicate"


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


@dataclass(frozen=True)
class ParsedFile:
    """The rows of a file, each with its line number; a row the reader could not split has
    only an "__error__" cell."""

    header: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]


def read_file(text: str) -> ParsedFile:
    """Splits the file into rows (the separator is the one its header line uses most); raises
    FileProblem when the file as a whole cannot be read."""
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
    return ParsedFile(tuple(names), rows)


def check_header(kind: str, header: tuple[str, ...]) -> None:
    """Raises FileProblem when the header lacks a column the kind needs."""
    for alternatives in _REQUIRED[kind]:
        if not any(name in header for name in alternatives):
            raise FileProblem(f"the header needs a column {' or '.join(alternatives)}")


# The columns that tell one kind of file from the other (exports of each have them too).
_SIGNATURES = {
    ACCOUNTS: frozenset({"document", "documentType", "email", "creditLimit", "tolerance", "trustLevel"}),
    SETTLEMENTS: frozenset({"invoiceId", "friendlyId", "creditValue", "creditAccountId"}),
}
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    ACCOUNTS: (("document",), ("documentType",), ("email",)),
    SETTLEMENTS: (("invoiceId", "id", "friendlyId"),),
}


def detect_kind(header: tuple[str, ...]) -> str | None:
    """The kind whose own columns the header has most of; None when it has none of either's,
    or as many of both."""
    scores = {kind: len(signature.intersection(header)) for kind, signature in _SIGNATURES.items()}
    best = max(scores.values())
    winners = [kind for kind, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def duplicates(kind: str, rows: list[tuple[int, dict[str, str]]]) -> dict[int, str]:
    """Line -> why it is skipped, for each row naming what an earlier row of the file already
    names; the first row is imported, the later ones are flagged and left out, so nothing is
    applied twice. Accounts: the same account id (the `id` cell, or document_documentType when
    it is empty), or the same document and document type. Invoice payments: the same invoiceId
    (or id), or, for rows without one, the same friendlyId (a row with both names its invoice
    by id; its friendlyId is only checked against it). Two rows naming one invoice in these two
    ways are not caught here, and need not be: each says what the invoice will have been paid
    in total, so the second finds it paid already (unchanged, or an error if it says less)."""
    seen: dict[tuple[str, str], int] = {}
    flagged: dict[int, str] = {}
    for line_number, row in rows:
        for what, value in _identities(kind, row):
            if not value:
                continue
            first = seen.get((what, value))
            if first is not None:
                flagged[line_number] = f"the same {what} as line {first} ({value}); not imported twice"
                break
        else:
            for what, value in _identities(kind, row):
                if value:
                    seen[(what, value)] = line_number
    return flagged


def _identities(kind: str, row: dict[str, str]) -> list[tuple[str, str]]:
    if "__error__" in row:
        return []
    if kind == ACCOUNTS:
        document = row.get("document", "").strip()
        document_type = row.get("documentType", "").strip()
        return [
            ("account", _account_key(row)),
            ("document", f"{document} {document_type}" if document else ""),
        ]
    invoice_id = (row.get("invoiceId") or row.get("id") or "").strip()
    if invoice_id:
        return [("invoice", invoice_id)]
    return [("friendlyId", row.get("friendlyId", "").strip())]


def _account_key(row: dict[str, str]) -> str:
    document = row.get("document", "").strip()
    document_type = row.get("documentType", "").strip()
    return row.get("id", "").strip() or (f"{document}_{document_type}" if document else "")


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
    session: Session, principal: Principal, row: dict[str, str], ctx: "_Context"
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
    limit = _amount("creditLimit", limit_raw, ctx.locale) if limit_raw else None
    tolerance = _rate("tolerance", tolerance_raw, ctx.locale) if tolerance_raw else None
    trust_raw = row.get("trustLevel", "").strip()
    trust_level = trust.check_level(trust_raw) if trust_raw else None
    description = read_text_cell(row.get("description", "")) or None
    public_id = clean_path_id("id", key, max_length=200)
    existing = ctx.open_account(session, principal.store_id, public_id)
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
            now=ctx.now,
        )
        detail = f"opened for {opened.email}, credit limit {from_cents(opened.credit_limit_cents)}"
        if trust_level is not None:
            _opened, changed = trust.set_trust_level(session, principal, public_id, trust_level, now=ctx.now)
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
            now=ctx.now,
        )
    if trust_level is not None and trust_level != trust_before:
        trust.set_trust_level(session, principal, public_id, trust_level, now=ctx.now)
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


def _find_invoice(ctx: "_Context", invoice_id: str, friendly_id: str) -> tuple[Invoice, str]:
    row = ctx.invoices_by_id.get(invoice_id) if invoice_id else ctx.invoices_by_friendly_id.get(friendly_id)
    if row is None:
        raise NotFound(f"no invoice {invoice_id or friendly_id}", code="InvoiceNotFound")
    invoice, account_id = row
    if invoice_id and friendly_id and invoice.friendly_id != friendly_id:
        raise field_error("friendlyId", f"does not match invoice {invoice_id}")
    return invoice, account_id


def _settlement_row(
    session: Session, principal: Principal, row: dict[str, str], ctx: "_Context"
) -> tuple[str, str, str]:
    """Brings an invoice's paid amount (creditValue) to what the row says; an empty creditValue
    means the whole value. Payments go through invoices.service.pay_invoice."""
    invoice_id = (row.get("invoiceId") or row.get("id") or "").strip()
    friendly_id = row.get("friendlyId", "").strip()
    key = invoice_id or friendly_id
    if not key:
        raise field_error("invoiceId", "an invoiceId (or id) or a friendlyId is required")
    invoice, account_id = _find_invoice(ctx, invoice_id, friendly_id)
    raw = row.get("creditValue", "").strip()
    target = to_cents(_amount("creditValue", raw, ctx.locale)) if raw else invoice.value_cents
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


_HANDLERS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    ACCOUNTS: (_account_row, (resources.CREATE_ACCOUNTS, resources.EDIT_CREDITS)),
    SETTLEMENTS: (_settlement_row, (resources.PAY_INVOICE,)),
}


def require_rights(principal: Principal, kind: str) -> None:
    """Raises Forbidden unless the principal may do what rows of this kind do."""
    for resource in _HANDLERS[kind][1]:
        principal.require(resource)


@dataclass
class _Context:
    """What every row of a chunk shares: the store's locale, the clock, and the accounts or
    invoices the chunk names, read in one query instead of one per row."""

    locale: str | None
    now: datetime
    accounts: dict[str, Account] = field(default_factory=dict)
    looked_up: set[str] = field(default_factory=set)
    invoices_by_id: dict[str, tuple[Invoice, str]] = field(default_factory=dict)
    invoices_by_friendly_id: dict[str, tuple[Invoice, str]] = field(default_factory=dict)

    def open_account(self, session: Session, store_id: int, public_id: str) -> Account | None:
        if public_id in self.looked_up:
            return self.accounts.get(public_id)
        return account_queries.find_open(session, store_id, public_id)


def _prefetch(session: Session, store_id: int, kind: str, rows, ctx: _Context) -> None:
    if kind == ACCOUNTS:
        keys = {_account_key(row) for _line, row in rows} - {""}
        if keys:
            found = session.scalars(
                select(Account).where(
                    Account.store_id == store_id, Account.status == OPEN, Account.public_id.in_(keys)
                )
            )
            ctx.accounts = {account.public_id: account for account in found}
            ctx.looked_up = keys
        return
    ids = {(row.get("invoiceId") or row.get("id") or "").strip() for _line, row in rows} - {""}
    friendly = {row.get("friendlyId", "").strip() for _line, row in rows} - {""}
    if not ids and not friendly:
        return
    query = (
        select(Invoice, Account.public_id)
        .join(Account, Account.id == Invoice.account_id)
        .where(
            Invoice.store_id == store_id, or_(Invoice.public_id.in_(ids), Invoice.friendly_id.in_(friendly))
        )
    )
    for invoice, account_id in session.execute(query).tuples():
        ctx.invoices_by_id[invoice.public_id] = (invoice, account_id)
        ctx.invoices_by_friendly_id[invoice.friendly_id] = (invoice, account_id)


class _Retry(Exception):
    """A row failed in the optimistic pass: the chunk runs again, a savepoint per row."""


def process(
    session: Session,
    principal: Principal,
    kind: str,
    rows: list[tuple[int, dict[str, str]]],
    *,
    locale: str | None,
    now: datetime,
    flagged: dict[int, str],
) -> list[RowResult]:
    """Runs the rows in the session's transaction and returns their outcomes; the caller
    commits or rolls back. `flagged` (from `duplicates`) are left out.

    Why it is fast: the chunk's accounts or invoices are read in one query, and the rows run
    first inside one savepoint instead of one each (two round trips fewer per row). Only when a
    row fails is that rolled back and the chunk run again with a savepoint per row, so the
    failing row leaves nothing behind and the others still show what they would do."""
    handler = _HANDLERS[kind][0]
    ctx = _Context(locale=locale, now=now)
    _prefetch(session, principal.store_id, kind, rows, ctx)
    try:
        with session.begin_nested():
            results = [
                _one_row(session, principal, handler, line, row, ctx, flagged, guarded=False)
                for line, row in rows
            ]
    except _Retry:
        results = [
            _one_row(session, principal, handler, line, row, ctx, flagged, guarded=True) for line, row in rows
        ]
    return results


def _row_key(row: dict) -> str:
    return (
        row.get("id") or row.get("invoiceId") or row.get("friendlyId") or row.get("document") or ""
    ).strip()


def _one_row(
    session: Session,
    principal: Principal,
    handler,
    line_number: int,
    row: dict,
    ctx: _Context,
    flagged: dict[int, str],
    *,
    guarded: bool,
) -> RowResult:
    if "__error__" in row:
        return RowResult(line_number, "", ERROR, row["__error__"])
    key = _row_key(row)
    if line_number in flagged:
        return RowResult(line_number, key, DUPLICATE, flagged[line_number])
    if not guarded:
        try:
            key, action, detail = handler(session, principal, row, ctx)
            session.flush()
        except (DomainError, IntegrityError):
            raise _Retry() from None
        return RowResult(line_number, key, action, detail)
    try:
        with session.begin_nested():
            key, action, detail = handler(session, principal, row, ctx)
            session.flush()
    except DomainError as error:
        return RowResult(line_number, key, ERROR, error.message)
    except IntegrityError:
        return RowResult(line_number, key, ERROR, "conflicts with another row or a concurrent change")
    return RowResult(line_number, key, action, detail)


def parse_for(kind: str, text: str) -> ParsedFile:
    """The file's rows for `kind`; raises FileProblem (unreadable, wrong header, no rows)."""
    parsed = read_file(text)
    check_header(kind, parsed.header)
    if not parsed.rows:
        raise FileProblem("the file has a header but no rows")
    return parsed


def store_locale(session: Session, store_id: int) -> str | None:
    return presentation_of(stores.get_config(session, store_id)).locale


def run(
    db: Database, principal: Principal, kind: str, text: str, *, apply: bool, now: datetime | None = None
) -> ImportResult:
    """Previews (apply=False) or applies the whole file in one transaction, applied only when no
    row failed (the console runs files as jobs instead: csv_io.jobs)."""
    if kind not in KINDS:
        return ImportResult(kind=kind, file_error=f"choose what the file holds: {' or '.join(KINDS)}")
    try:
        require_rights(principal, kind)
        parsed = parse_for(kind, text)
    except FileProblem as problem:
        return ImportResult(kind=kind, file_error=str(problem))
    except DomainError as error:
        return ImportResult(kind=kind, file_error=error.message)
    flagged = duplicates(kind, parsed.rows)
    try:
        with db.write() as session:
            locale = store_locale(session, principal.store_id)
            results = process(
                session, principal, kind, parsed.rows, locale=locale, now=now or utcnow(), flagged=flagged
            )
            if not apply or any(result.action == ERROR for result in results):
                raise _Rollback(results)
    except _Rollback as rollback:
        return ImportResult(kind=kind, rows=rollback.rows, applied=False)
    return ImportResult(kind=kind, rows=results, applied=True)
