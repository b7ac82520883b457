"""What a customer sees: the open accounts where their e-mail is the owner or a holder (just
the link's account when they came with a link), with their figures and invoices (and, on top,
what they owe and what is due now). Everything comes from the accounts and invoices services,
but the paid history and the payments received, read newest first."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import OPEN, Account
from customer_credit.auth.principal import Principal
from customer_credit.dates import store_zone
from customer_credit.invoices import search
from customer_credit.invoices.models import OPENED, PAID, Invoice
from customer_credit.invoices.overdue_days import Lateness, Overdue, is_overdue
from customer_credit.invoices.payments import InvoicePayment
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.ledger.service import Figures, figures
from customer_credit.paging import MAX_WINDOW, Window
from customer_credit.stores import service as stores
from customer_credit.stores.models import StoreConfig
from customer_credit.validation import normalize_email

MAX_ACCOUNTS = 50
PAID_SHOWN = 10
PAYMENTS_SHOWN = 10


@dataclass(frozen=True)
class Received:
    """A payment the store recorded on one of the account's invoices (negative: a reversal), as
    the customer may see it: the day the money arrived, the amount, the invoice and the payer's
    reference; never who recorded it."""

    paid_on: date
    amount_cents: int
    invoice_friendly_id: str
    reference: str | None


@dataclass(frozen=True)
class Due:
    invoice: Invoice
    late: Overdue

    @property
    def owed_cents(self) -> int:
        return self.invoice.value_cents - self.invoice.paid_cents

    @property
    def total_cents(self) -> int:
        return self.owed_cents + self.late.interest_cents


@dataclass(frozen=True)
class CustomerAccount:
    account: Account
    numbers: Figures
    role: str  # "owner" or "holder"
    open: list[Due]
    overdue: list[Due]
    paid: list[Invoice]
    paid_count: int
    payments: list[Received]

    due_now_cents: int = 0  # open invoices due on or before today (store's zone), with interest

    @property
    def owed_cents(self) -> int:
        """Still owed on the open invoices (late interest included)."""
        return sum(item.total_cents for item in self.open + self.overdue)


@dataclass(frozen=True)
class CustomerView:
    config: StoreConfig
    accounts: list[CustomerAccount]

    @property
    def owed_cents(self) -> int:
        return sum(item.owed_cents for item in self.accounts)

    @property
    def due_now_cents(self) -> int:
        return sum(item.due_now_cents for item in self.accounts)


def customer_view(
    session: Session, store_id: int, email: str, *, now: datetime, account_id: int | None = None
) -> CustomerView:
    """`now`: the request's clock (customer_credit.clock). With `account_id` (the customer came
    with a link) only that account, while it is open and the e-mail still owns or holds it."""
    principal = Principal(store_id=store_id, name=email, resources=frozenset())
    config = stores.get_config(session, store_id)
    found, _total = accounts.search_accounts(
        session, principal, window=Window(0, MAX_ACCOUNTS), status=OPEN, email=email
    )
    if account_id is not None:
        found = [account for account in found if account.id == account_id]
    return CustomerView(
        config=config,
        accounts=[_account(session, principal, account, config, email, now) for account in found],
    )


def _account(
    session, principal, account: Account, config: StoreConfig, email: str, now: datetime
) -> CustomerAccount:
    opened = search.search_invoices(
        session,
        principal,
        InvoiceFilters(status=OPENED),
        Window(0, MAX_WINDOW),
        account_public_id=account.public_id,
    )
    lateness = Lateness.of_store(config, now)
    due = [Due(invoice, lateness.of(invoice)) for invoice, _ in opened.rows]
    paid_count = search.search_invoices(
        session, principal, InvoiceFilters(status=PAID), Window(0, 1), account_public_id=account.public_id
    ).summary["count"]
    # The history: the latest paid invoices, newest payment first.
    latest_paid = session.scalars(
        select(Invoice)
        .where(Invoice.store_id == account.store_id, Invoice.account_id == account.id, Invoice.status == PAID)
        .order_by(Invoice.resolved_at.desc(), Invoice.id.desc())
        .limit(PAID_SHOWN)
    ).all()
    zone = store_zone(config)
    today = now.astimezone(zone).date()
    return CustomerAccount(
        payments=_latest_payments(session, account),
        account=account,
        numbers=figures(account),
        role="owner" if normalize_email(account.email) == normalize_email(email) else "holder",
        open=[item for item in due if not is_overdue(item.invoice, now)],
        overdue=[item for item in due if is_overdue(item.invoice, now)],
        paid=list(latest_paid),
        paid_count=paid_count,
        due_now_cents=sum(
            item.total_cents for item in due if item.invoice.due_at.astimezone(zone).date() <= today
        ),
    )


def _latest_payments(session: Session, account: Account) -> list[Received]:
    """The latest payments received on the account's invoices, partial ones included (a paid
    invoice alone does not show the instalments it was paid in)."""
    rows = session.execute(
        select(
            InvoicePayment.paid_on, InvoicePayment.amount_cents, Invoice.friendly_id, InvoicePayment.reference
        )
        .join(Invoice, Invoice.id == InvoicePayment.invoice_id)
        .where(InvoicePayment.store_id == account.store_id, InvoicePayment.account_id == account.id)
        .order_by(InvoicePayment.paid_on.desc(), InvoicePayment.recorded_at.desc(), InvoicePayment.id.desc())
        .limit(PAYMENTS_SHOWN)
    )
    return [Received(*row) for row in rows]
