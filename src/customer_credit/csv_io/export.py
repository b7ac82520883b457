"""CSV exports, streamed in batches (keyset pages, one short read transaction each), so an
export of any size holds neither the whole result in memory nor a transaction open for long.
Amounts are plain decimals with a dot (9.63), times ISO 8601 UTC: files for machines, which
an import reads back unchanged."""

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import and_, or_, select

from customer_credit.accounts.models import Account, Holder
from customer_credit.auth.principal import Principal
from customer_credit.console.search import accounts_matching
from customer_credit.credit_control.aging import BUCKETS, StoreAging
from customer_credit.csv_io.cells import line, text_cell
from customer_credit.dates import timestamp
from customer_credit.db.engine import Database
from customer_credit.invoices import queries as invoice_queries
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.ledger.service import figures
from customer_credit.money import from_cents
from customer_credit.stores import service as stores

BATCH = 500

ACCOUNT_COLUMNS = [
    "id",
    "document",
    "documentType",
    "email",
    "creditLimit",
    "tolerance",
    "description",
    "status",
    "balance",
    "availableCredit",
    "preAuthorizedCredit",
    "holders",
    "createdAt",
    "trustLevel",
]
INVOICE_COLUMNS = [
    "id",
    "friendlyId",
    "creditAccountId",
    "status",
    "value",
    "creditValue",
    "dueDate",
    "originalDueDate",
    "createdAt",
    "resolvedAt",
    "installment",
    "numberOfInstallments",
    "orderId",
    "observation",
    "paymentLink",
    "postponements",
    "daysOverdue",
    "interest",
    "creditedValue",
    "writtenOffValue",
]


def accounts_csv(
    db: Database, principal: Principal, *, status: str | None, text: str | None
) -> Iterator[str]:
    yield line(ACCOUNT_COLUMNS)
    last_id = 0
    while True:
        with db.read(replica=True) as session:
            query = accounts_matching(principal.store_id, status=status, text=text)
            batch = list(session.scalars(query.where(Account.id > last_id).order_by(Account.id).limit(BATCH)))
            holders: dict[int, list[str]] = {}
            for account_id, email in session.execute(
                select(Holder.account_id, Holder.email)
                .where(Holder.account_id.in_([a.id for a in batch]), Holder.removed_at.is_(None))
                .order_by(Holder.id)
            ):
                holders.setdefault(account_id, []).append(email)
            rows = []
            for account in batch:
                numbers = figures(account)
                rows.append(
                    line(
                        [
                            account.public_id,
                            account.document,
                            account.document_type,
                            text_cell(account.email),
                            numbers.credit_limit,
                            numbers.tolerance,
                            text_cell(account.description),
                            account.status,
                            numbers.balance,
                            numbers.available_credit,
                            numbers.pre_authorized,
                            text_cell(" ".join(holders.get(account.id, []))),
                            timestamp(account.created_at),
                            account.trust_level,
                        ]
                    )
                )
            last_id = batch[-1].id if batch else last_id
            done = len(batch) < BATCH
        yield "".join(rows)
        if done:
            return


def invoices_csv(
    db: Database, principal: Principal, filters: InvoiceFilters, *, now: datetime
) -> Iterator[str]:
    """`now`: the moment of the request (every row's daysOverdue and interest are as of it)."""
    yield line(INVOICE_COLUMNS)
    where = invoice_queries.matching(principal.store_id, filters)
    after = None
    while True:
        with db.read(replica=True) as session:
            lateness = Lateness.of_store(stores.get_config(session, principal.store_id), now)
            query = (
                select(Invoice, Account.public_id)
                .join(Account, Account.id == Invoice.account_id)
                .where(*where)
                .order_by(Invoice.created_at, Invoice.id)
                .limit(BATCH)
            )
            if after is not None:
                created, invoice_id = after
                query = query.where(
                    or_(
                        Invoice.created_at > created,
                        and_(Invoice.created_at == created, Invoice.id > invoice_id),
                    )
                )
            batch = list(session.execute(query))
            rows = []
            for invoice, account_id in batch:
                late = lateness.of(invoice)
                rows.append(
                    line(
                        [
                            invoice.public_id,
                            invoice.friendly_id,
                            account_id,
                            invoice.status,
                            from_cents(invoice.value_cents),
                            from_cents(invoice.paid_cents),
                            timestamp(invoice.due_at),
                            timestamp(invoice.original_due_at),
                            timestamp(invoice.created_at),
                            timestamp(invoice.resolved_at),
                            invoice.installment,
                            invoice.number_of_installments,
                            text_cell(invoice.order_id),
                            text_cell(invoice.observation),
                            text_cell(invoice.payment_link),
                            invoice.postponement_count,
                            late.days,
                            from_cents(late.interest_cents),
                            from_cents(invoice.credited_cents),
                            from_cents(invoice.written_off_cents),
                        ]
                    )
                )
            if batch:
                after = (batch[-1][0].created_at, batch[-1][0].id)
            done = len(batch) < BATCH
        yield "".join(rows)
        if done:
            return


ADJUSTMENT_COLUMNS = [
    "number",
    "type",
    "value",
    "reason",
    "reference",
    "invoiceId",
    "friendlyId",
    "creditAccountId",
    "createdBy",
    "createdAt",
]


def adjustments_csv(db: Database, principal: Principal) -> Iterator[str]:
    """The store's credit notes and write-offs, oldest first."""
    from customer_credit.credit_control import adjustments

    yield line(ADJUSTMENT_COLUMNS)
    offset = 0
    while True:
        with db.read(replica=True) as session:
            batch, _total = adjustments.list_adjustments(
                session, principal.store_id, offset=offset, limit=BATCH, oldest_first=True
            )
            rows = []
            for document, invoice, account_id in batch:
                wire = adjustments.adjustment_wire(document, invoice, account_id)
                rows.append(
                    line(
                        [
                            text_cell(wire[column]) if isinstance(wire[column], str) else wire[column]
                            for column in ADJUSTMENT_COLUMNS
                        ]
                    )
                )
        offset += len(batch)
        yield "".join(rows)
        if len(batch) < BATCH:
            return


AGING_COLUMNS = ["row", "creditAccountId", *BUCKETS, "total"]


def aging_csv(report: StoreAging) -> Iterator[str]:
    """An aging report computed in one read (customer_credit.credit_control.aging), so that its
    total row is the sum of its account rows: one row per account (`row` = account), largest
    total first, then `row` = total. Amounts always with two decimals (12.50)."""
    yield line(AGING_COLUMNS)
    for start in range(0, len(report.rows), BATCH):
        yield "".join(
            line(
                [
                    "account",
                    text_cell(row.public_id),
                    *map(from_cents, row.buckets.cents),
                    from_cents(row.buckets.total),
                ]
            )
            for row in report.rows[start : start + BATCH]
        )
    yield line(["total", "", *map(from_cents, report.buckets.cents), from_cents(report.buckets.total)])
