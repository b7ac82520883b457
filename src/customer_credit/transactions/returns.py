"""What went back to the customer on a settled transaction, and the rule that bounds it.

domain.md: for every transaction, at all times, cancellations + refunds (the part that lowered
open invoices and the paid excess given back as positive balance) ≤ settled. The totals are
derived, not stored: refunds are `Transaction.refunded_cents` (the paid excess of them,
`refund_excess_cents`), and cancellations are read off the invoices, since cancelling one
releases exactly what was still owed on it (value − creditValue) and a cancelled invoice never
changes again. An invoice that a lowering (re-settlement, refund) took down to nothing is
Cancelled with value = creditValue = 0, so it adds nothing.

With S settled, R refunded (E of it given back beyond the open invoices), C cancelled, A taken
off by credit notes and write-offs (credit_control.adjustments), P paid and O still owed on
open invoices, every operation keeps S = (R − E) + P + O + C + A, so what is left to refund,
S − R − C − A, is P + O − E: a refund first takes the open amount O, and only the rest, at
most P − E, comes back as balance. That keeps the paid excess within what was paid,
as long as no payment whose money was given back is reversed (`refuse_reversal_of_returned_payment`).
`ledger.check` verifies the rule from the ledger alone.

Callers hold the account row lock, which serializes every money change on its transactions."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customer_credit.errors import Conflict
from customer_credit.invoices.models import CANCELLED, Invoice
from customer_credit.money import from_cents
from customer_credit.transactions.models import Transaction


def cancelled_cents(session: Session, transaction_pk: int) -> int:
    """What invoice cancellations released on the transaction."""
    return session.scalars(
        select(func.coalesce(func.sum(Invoice.value_cents - Invoice.paid_cents), 0)).where(
            Invoice.transaction_id == transaction_pk, Invoice.status == CANCELLED
        )
    ).one()


def adjusted_cents(session: Session, transaction_pk: int) -> int:
    """What credit notes and write-offs took off the transaction's invoices (credit_control)."""
    return session.scalars(
        select(func.coalesce(func.sum(Invoice.credited_cents + Invoice.written_off_cents), 0)).where(
            Invoice.transaction_id == transaction_pk
        )
    ).one()


def paid_cents(session: Session, transaction_pk: int) -> int:
    """What the customer has paid on the transaction's invoices (reversals taken off)."""
    return session.scalars(
        select(func.coalesce(func.sum(Invoice.paid_cents), 0)).where(Invoice.transaction_id == transaction_pk)
    ).one()


def ensure_refund_fits(session: Session, transaction: Transaction, cents: int) -> None:
    """Refuses (409) a refund of `cents` beyond what is left to refund: settled − already
    refunded − already cancelled − already credited or written off."""
    cancelled = cancelled_cents(session, transaction.id)
    adjusted = adjusted_cents(session, transaction.id)
    refundable = transaction.settled_cents - transaction.refunded_cents - cancelled - adjusted
    if cents > refundable:
        adjusted_part = f", credited or written off {from_cents(adjusted)}" if adjusted else ""
        raise Conflict(
            f"the refund exceeds what is left to refund ({from_cents(max(refundable, 0))}: "
            f"settled {from_cents(transaction.settled_cents)}, already refunded "
            f"{from_cents(transaction.refunded_cents)}, cancelled {from_cents(cancelled)}{adjusted_part})",
            code="RefundExceedsSettlement",
        )


def refuse_reversal_of_returned_payment(session: Session, transaction_pk: int, reversed_cents: int) -> None:
    """A refund gave paid money back to the customer as balance; a payment reversal may not
    take the paid total below what was given back, or the customer would keep money never
    paid (and cancelling the reopened invoice would release it a second time)."""
    transaction = session.get_one(Transaction, transaction_pk)
    given_back = transaction.refund_excess_cents
    if given_back == 0:
        return
    paid_after = paid_cents(session, transaction_pk) - reversed_cents
    if paid_after < given_back:
        raise Conflict(
            f"a refund already gave {from_cents(given_back)} of this purchase's payments back "
            f"to the customer; reversing this payment would leave only {from_cents(paid_after)} "
            f"paid. Record a manual debit (decrease balance) instead",
            code="PaymentAlreadyRefunded",
        )
