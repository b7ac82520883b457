"""Checking the books: the Credit entries of every account replayed from the limit and
tolerance it was opened with, and every settled transaction's releases bounded by its
settlement.

Each Credit entry must carry domain.md's value for the change its metadata describes —
(L' − L) × (1 + t) for a credit limit change, L × (t' − t) for a tolerance change, rounded
half to even to the cent, like every amount here — its `from` side must be where the previous
entry left the account, and the last one must leave the account at its current limit and
tolerance. Per transaction, the cancellation and refund entries may add up to at most what
its settlement entries took (`transaction_mismatches`). The figures (balance, held credit) are
recomputed by `ledger.service.recompute_mismatches`, which includes these checks."""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.invoices.models import Invoice
from customer_credit.ledger.models import CREDIT, INVOICE, STATEMENT, Statement
from customer_credit.ledger.service import Mismatch, recompute_mismatches
from customer_credit.money import CENT, RATE_SCALE, to_cents
from customer_credit.transactions.models import SETTLED, Transaction

RATE_UNIT_NAME = "ten-thousandths"


def credit_limit_entry_cents(old_limit: Decimal, new_limit: Decimal, tolerance: Decimal) -> int:
    """(L' − L) × (1 + t), rounded once, to the cent."""
    return to_cents(((new_limit - old_limit) * (1 + tolerance)).quantize(CENT, ROUND_HALF_EVEN))


def tolerance_entry_cents(limit: Decimal, old_tolerance: Decimal, new_tolerance: Decimal) -> int:
    """L × (t' − t), rounded to the cent."""
    return to_cents((limit * (new_tolerance - old_tolerance)).quantize(CENT, ROUND_HALF_EVEN))


def _units(rate: Decimal) -> int:
    scaled = rate * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError("a rate has at most 4 decimal places")
    return int(scaled)


def _number(raw) -> Decimal:
    if isinstance(raw, (bool, float)) or raw is None:
        raise ValueError("not a decimal")
    value = Decimal(str(raw))
    if not value.is_finite():
        raise ValueError("not finite")
    return value


class _Replay:
    """Where the account's limit (cents) and tolerance (ten-thousandths) stand after the
    entries seen so far."""

    def __init__(self, account, found: list[Mismatch]):
        self.account = account
        self.limit = account.initial_credit_limit_cents
        self.tolerance = account.initial_tolerance_units
        self.found = found

    def _report(self, field: str, stored: int, recomputed: int, unit: str = "cents") -> None:
        self.found.append(Mismatch(self.account.id, self.account.public_id, field, stored, recomputed, unit))

    def entry(self, entry) -> None:
        meta = entry.meta if isinstance(entry.meta, dict) else {}
        label = f"Credit entry #{entry.id}"
        try:
            if isinstance(meta.get("creditLimit"), dict):
                change = meta["creditLimit"]
                old, new = _number(change["from"]), _number(change["to"])
                rate = _number(meta["tolerance"])
                self._check_from(label, to_cents(old), _units(rate))
                expected = credit_limit_entry_cents(
                    Decimal(self.limit) / 100, new, Decimal(self.tolerance) / RATE_SCALE
                )
                self.limit = to_cents(new)
            elif isinstance(meta.get("tolerance"), dict):
                change = meta["tolerance"]
                old, new = _number(change["from"]), _number(change["to"])
                limit = _number(meta["creditLimit"])
                self._check_from(label, to_cents(limit), _units(old))
                expected = tolerance_entry_cents(
                    Decimal(self.limit) / 100, Decimal(self.tolerance) / RATE_SCALE, new
                )
                self.tolerance = _units(new)
            else:
                raise KeyError("neither creditLimit nor tolerance changes")
        except (KeyError, TypeError, ValueError, InvalidOperation):
            # Nothing to recompute from: the entry's value cannot be vouched for.
            self._report(f"{label} metadata unreadable", entry.value_cents, 0)
            return
        if entry.value_cents != expected:
            self._report(label, entry.value_cents, expected)

    def _check_from(self, label: str, limit: int, tolerance: int) -> None:
        if limit != self.limit:
            self._report(f"{label} creditLimit before the change", limit, self.limit)
        if tolerance != self.tolerance:
            self._report(f"{label} tolerance before the change", tolerance, self.tolerance, RATE_UNIT_NAME)

    def finish(self) -> None:
        if self.account.credit_limit_cents != self.limit:
            self._report("creditLimit", self.account.credit_limit_cents, self.limit)
        if self.account.tolerance_units != self.tolerance:
            self._report("tolerance", self.account.tolerance_units, self.tolerance, RATE_UNIT_NAME)


def credit_mismatches(
    session: Session, store_id: int | None = None, *, account_id: int | None = None
) -> list[Mismatch]:
    """Replays every account's Credit entries (oldest first) and returns where they disagree
    with domain.md's formulas or with the account's current limit and tolerance."""
    accounts = select(
        Account.id,
        Account.public_id,
        Account.credit_limit_cents,
        Account.tolerance_units,
        Account.initial_credit_limit_cents,
        Account.initial_tolerance_units,
    ).order_by(Account.id)
    entries = (
        select(Statement.id, Statement.account_id, Statement.value_cents, Statement.meta)
        .where(Statement.origin == CREDIT)
        .order_by(Statement.account_id, Statement.id)
    )
    if store_id is not None:
        accounts = accounts.where(Account.store_id == store_id)
        entries = entries.where(Statement.store_id == store_id)
    if account_id is not None:
        accounts = accounts.where(Account.id == account_id)
        entries = entries.where(Statement.account_id == account_id)
    by_account: dict[int, list] = {}
    for entry in session.execute(entries):
        by_account.setdefault(entry.account_id, []).append(entry)
    found: list[Mismatch] = []
    for account in session.execute(accounts):
        replay = _Replay(account, found)
        for entry in by_account.get(account.id, []):
            replay.entry(entry)
        replay.finish()
    return found


def check_account(session: Session, account: Account) -> list[Mismatch]:
    """Everything `customer-credit check` verifies, for one account: its balance against its
    entries, its held credit against its live holds, its Credit entries, and what its
    transactions gave back against what they settled."""
    return recompute_mismatches(session, account.store_id, account_id=account.id)


@dataclass
class _Returns:
    """One transaction's Invoice entries summed: settled (settlements and their changes, whose
    entries are negative), and what went back (cancellations, refunds, credit notes and
    write-offs: positive)."""

    first_entry: int
    settled: int = 0
    cancelled: int = 0
    refunded: int = 0
    adjusted: int = 0

    def add(self, value_cents: int, meta: dict) -> None:
        if meta.get("cancelled"):
            self.cancelled += value_cents
        elif meta.get("refund"):
            self.refunded += value_cents
        elif meta.get("creditNote") or meta.get("writeOff"):
            self.adjusted += value_cents
        else:
            self.settled -= value_cents


def _returns_by_transaction(rows) -> dict[tuple[int, str | None], _Returns]:
    """Keyed by (account, the entry's transactionId)."""
    found: dict[tuple[int, str | None], _Returns] = {}
    for row in rows:
        meta = row.meta if isinstance(row.meta, dict) else {}
        transaction_id = meta.get("transactionId")
        key = (row.account_id, transaction_id if isinstance(transaction_id, str) else None)
        found.setdefault(key, _Returns(first_entry=row.id)).add(row.value_cents, meta)
    return found


def transaction_mismatches(
    session: Session, store_id: int | None = None, *, account_id: int | None = None
) -> list[Mismatch]:
    """Per settled transaction, from its ledger entries: cancellations + refunds + credit notes
    and write-offs never exceed the settled value (domain.md, Refund; the paid excess given back
    is part of the refunds), and the stored settled and refunded values, and the invoices'
    credited and written-off amounts, are what the entries give. Invoice entries of no settled
    transaction are reported too: nothing bounds what they released."""
    accounts = select(Account.id, Account.public_id)
    entries = (
        select(Statement.id, Statement.account_id, Statement.value_cents, Statement.meta)
        .where(Statement.origin == INVOICE)
        .order_by(Statement.id)
    )
    adjusted = (
        select(
            Invoice.transaction_id,
            func.coalesce(func.sum(Invoice.credited_cents + Invoice.written_off_cents), 0).label("adjusted"),
        )
        .group_by(Invoice.transaction_id)
        .subquery()
    )
    settled = (
        select(
            Transaction.account_id,
            Transaction.public_id,
            Transaction.settled_cents,
            Transaction.refunded_cents,
            func.coalesce(adjusted.c.adjusted, 0).label("adjusted"),
        )
        .outerjoin(adjusted, adjusted.c.transaction_id == Transaction.id)
        .where(Transaction.status == SETTLED)
    )
    if store_id is not None:
        accounts = accounts.where(Account.store_id == store_id)
        entries = entries.where(Statement.store_id == store_id)
        settled = settled.where(Transaction.store_id == store_id)
    if account_id is not None:
        accounts = accounts.where(Account.id == account_id)
        entries = entries.where(Statement.account_id == account_id)
        settled = settled.where(Transaction.account_id == account_id)
    public_ids = dict(session.execute(accounts).all())
    by_transaction = _returns_by_transaction(session.execute(entries))
    found: list[Mismatch] = []

    def report(account_pk: int, field: str, stored: int, recomputed: int) -> None:
        found.append(Mismatch(account_pk, public_ids.get(account_pk, "?"), field, stored, recomputed))

    for row in session.execute(settled):
        sums = by_transaction.pop((row.account_id, row.public_id), None) or _Returns(first_entry=0)
        label = f"transaction {row.public_id}"
        if row.settled_cents != sums.settled:
            report(row.account_id, f"{label} settled", row.settled_cents, sums.settled)
        if row.refunded_cents != sums.refunded:
            report(row.account_id, f"{label} refunded", row.refunded_cents, sums.refunded)
        if row.adjusted != sums.adjusted:
            report(row.account_id, f"{label} credited + written off", row.adjusted, sums.adjusted)
        given_back = sums.cancelled + sums.refunded + sums.adjusted
        if given_back > sums.settled:
            # "stored" is what the entries gave back, "recomputed" its ceiling, the settled value.
            report(row.account_id, f"{label} given back above settled", given_back, sums.settled)
    for (account_pk, transaction_id), sums in by_transaction.items():
        net = sums.cancelled + sums.refunded + sums.adjusted - sums.settled
        owner = f"transaction {transaction_id}, not settled" if transaction_id else "no transactionId"
        report(account_pk, f"Invoice entry #{sums.first_entry} ({owner})", net, 0)
    return found


def balance_application_mismatches(
    session: Session, store_id: int | None = None, *, account_id: int | None = None
) -> list[Mismatch]:
    """Per account: the Statement entries that applied its unapplied credit to invoices (−) or
    gave it back when such a payment was reversed (+) add up to minus what its invoices say was
    paid from the balance (credit_control.balance)."""
    entries = select(Statement.account_id, Statement.value_cents, Statement.meta).where(
        Statement.origin == STATEMENT
    )
    applied = select(
        Invoice.account_id, func.coalesce(func.sum(Invoice.balance_applied_cents), 0).label("applied")
    ).group_by(Invoice.account_id)
    accounts = select(Account.id, Account.public_id)
    if store_id is not None:
        entries = entries.where(Statement.store_id == store_id)
        applied = applied.where(Invoice.store_id == store_id)
        accounts = accounts.where(Account.store_id == store_id)
    if account_id is not None:
        entries = entries.where(Statement.account_id == account_id)
        applied = applied.where(Invoice.account_id == account_id)
        accounts = accounts.where(Account.id == account_id)
    from_entries: dict[int, int] = {}
    for row in session.execute(entries):
        meta = row.meta if isinstance(row.meta, dict) else {}
        if meta.get("balanceApplication"):
            from_entries[row.account_id] = from_entries.get(row.account_id, 0) - row.value_cents
    stored = {row.account_id: int(row.applied) for row in session.execute(applied)}
    public_ids = dict(session.execute(accounts).all())
    return [
        Mismatch(
            pk,
            public_ids.get(pk, "?"),
            "balance applied to invoices",
            stored.get(pk, 0),
            from_entries.get(pk, 0),
        )
        for pk in sorted(set(stored) | set(from_entries))
        if pk in public_ids and stored.get(pk, 0) != from_entries.get(pk, 0)
    ]


def totals_mismatches(session: Session, store_id: int | None = None) -> list[Mismatch]:
    """Per store: the maintained invoice totals (invoices/totals.py, the unfiltered search's
    summary) against the same figures added up from the invoices. Reported under the store,
    not an account (account id 0)."""
    from customer_credit.invoices import totals

    stored = totals.stored_by_store(session, store_id)
    recomputed = totals.recomputed_by_store(session, store_id)
    zero = totals.Totals()
    found: list[Mismatch] = []
    for store in sorted(set(stored) | set(recomputed)):
        kept, counted = stored.get(store, zero), recomputed.get(store, zero)
        for name in totals.Totals.FIELDS:
            if getattr(kept, name) != getattr(counted, name):
                status, figure = name.split("_")
                found.append(
                    Mismatch(
                        0,
                        f"store #{store}",
                        f"invoice totals: {status.capitalize()} {'value' if figure == 'cents' else 'count'}",
                        getattr(kept, name),
                        getattr(counted, name),
                        "cents" if figure == "cents" else "invoices",
                    )
                )
    return found
