"""`invoice.overdue`: written once when an Opened invoice passes its due date (and once more
if a postponement moves the due date and the new one passes too).

Each (invoice, due date) gets a notice row in the same transaction as its event, so several
workers, restarts or a worker clock moved back and forth never write it twice. Invoices that
became overdue more than LOOKBACK_DAYS ago (a worker down that long) are not announced."""

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.dates import store_zone
from customer_credit.events.models import OverdueNotice
from customer_credit.events.outbox import record
from customer_credit.events.types import INVOICE_OVERDUE
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import days_overdue, overdue_condition
from customer_credit.stores import service as stores

BATCH = 200
LOOKBACK_DAYS = 60


def emit_overdue(session: Session, now: datetime, *, limit: int = BATCH) -> int:
    noticed = exists().where(OverdueNotice.invoice_id == Invoice.id, OverdueNotice.due_at == Invoice.due_at)
    rows = session.execute(
        select(Invoice.id, Invoice.account_id, Invoice.due_at)
        .where(
            overdue_condition(now),
            Invoice.due_at > now - timedelta(days=LOOKBACK_DAYS),
            ~noticed,
        )
        .order_by(Invoice.due_at, Invoice.id)
        .limit(limit)
    ).all()
    handled = 0
    for invoice_pk, account_pk, due_at in rows:
        # The account lock orders us with payments and postponements of the invoice; a worker
        # that finds it locked leaves the invoice to the next round.
        account = session.scalar(
            select(Account).where(Account.id == account_pk).with_for_update(skip_locked=True)
        )
        if account is None:
            continue
        invoice = session.get_one(Invoice, invoice_pk, populate_existing=True)
        already = session.get(OverdueNotice, (invoice_pk, due_at))
        if invoice.status != OPENED or invoice.due_at != due_at or already is not None:
            continue
        session.add(OverdueNotice(invoice_id=invoice_pk, due_at=due_at, created_at=now))
        zone = store_zone(stores.get_config(session, invoice.store_id))
        record(
            session,
            INVOICE_OVERDUE,
            account=account,
            invoice=invoice,
            changes={"daysOverdue": days_overdue(due_at, now, zone)},
            ledger=False,
            at=now,
        )
        handled += 1
    return handled
