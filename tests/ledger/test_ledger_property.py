"""The ledger property (issues 3 and 4): after any sequence of operations, the stored account
figures equal a recomputation from the ledger, every Credit entry has domain.md's value,
what the customer owes on Opened invoices is exactly what the balance says, and no transaction
gives back more than it settled (cancellations + refunds ≤ settled, the paid excess of the
refunds within what was paid).

A Hypothesis state machine drives the service layer (one `database.write()` per operation, as
the routes do; a few rules go through HTTP) and keeps its own model of every account, hold and
invoice, written from domain.md. After every step it compares the database with the model and
checks the invariants; an operation the model says must be refused has to raise the matching
DomainError and leave every row as it was.

Amounts in the model are integer cents, rates integer ten-thousandths. domain.md names no
rounding rule for the Credit entries: they are rounded once, half to even, to the cent (the
product's one rounding rule, money.cents_times_rate). Limits (the hold ceiling
availableCredit + L × t, the growth limit original × (1 + rate)) are compared exactly: an
amount fits only within the exact product.

Hypothesis runs derandomized (a fixed seed per test) with no example database, so CI runs the
same examples every time; on a failure it prints the shortest sequence of steps it found.

CUSTOMER_CREDIT_LEDGER_EXAMPLES / CUSTOMER_CREDIT_LEDGER_STEPS run it longer locally."""

import json
import os
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.credit_control import adjustments, balance, dunning
from customer_credit.credit_control.models import CREDIT_NOTE, WRITE_OFF, DunningLevel
from customer_credit.db.base import utcnow
from customer_credit.errors import DomainError
from customer_credit.invoices import service as invoices
from customer_credit.invoices.models import Invoice
from customer_credit.jobs.registry import default_jobs
from customer_credit.jobs.worker import Worker
from customer_credit.ledger import statements
from customer_credit.ledger.check import check_account
from customer_credit.ledger.models import CREDIT, Statement
from customer_credit.ledger.service import figures, recompute_mismatches
from customer_credit.stores.models import StoreConfig
from customer_credit.transactions import service as transactions
from customer_credit.transactions.models import Transaction
from tests.conftest import Store
from tests.helpers import configure, open_account

EXAMPLES = int(os.environ.get("CUSTOMER_CREDIT_LEDGER_EXAMPLES", "25"))
STEPS = int(os.environ.get("CUSTOMER_CREDIT_LEDGER_STEPS", "30"))
MAX_ACCOUNTS = 3
MAX_HOLDS = 12
# Hypothesis picks rules unevenly (it repeats stretches of earlier examples), so the rules
# that need no invoices are capped per example: the steps left go to the invoice operations.
CAPS = {
    "change_credit": 12 + max(0, STEPS - 30),
    "configure_store": 2,
    "decrease_balance": 2,
    "read_through_http": 3,
    "create_hold": 5,
    "purchase": 6,
    "update_hold": 4,
    "release_hold": 4,
    "settle": 6,
    "refund": 5,
    "adjust": 5,
    "apply_balance": 4,
    "late_fee": 3,
    "refund_in_full": 3,
}
# Enough capped steps that need neither holds nor invoices for any example to run its course.
assert (
    MAX_ACCOUNTS
    + sum(
        CAPS[name]
        for name in (
            "change_credit",
            "configure_store",
            "decrease_balance",
            "read_through_http",
            "create_hold",
            "purchase",
        )
    )
    >= STEPS
)
CHECK_EVERY = 4
OUTCOMES: Counter = Counter()

# ---------------------------------------------------------------------------------------------
# domain.md's arithmetic, written here independently of src/


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def rate(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)


def to_cent(amount: Decimal) -> int:
    """An amount (in currency units) rounded half to even to the cent, as integer cents."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def limit_entry(old_cents: int, new_cents: int, tolerance_units: int) -> int:
    """Credit entry of a limit change L→L': (L' − L) × (1 + t)."""
    return to_cent((money(new_cents) - money(old_cents)) * (1 + rate(tolerance_units)))


def tolerance_entry(limit_cents: int, old_units: int, new_units: int) -> int:
    """Credit entry of a tolerance change t→t': L × (t' − t)."""
    return to_cent(money(limit_cents) * (rate(new_units) - rate(old_units)))


def floor_cents(exact: Decimal) -> int:
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


def edges(limit: int):
    """A limit and a cent over it (amounts are at least a cent)."""
    return st.sampled_from(sorted({max(1, limit), max(1, limit + 1)}))


def split(total: int, parts: int) -> list[int]:
    """value/N rounded down to the cent; the leftover cents go to the first installments."""
    base, leftover = divmod(total, parts)
    return [base + (1 if index < leftover else 0) for index in range(parts)]


def wire(response) -> dict:
    """A JSON body with every number as Decimal (never a float)."""
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class CreditEntry:
    kind: str  # "creditLimit" or "tolerance"
    before: int  # cents or ten-thousandths
    after: int
    other: int  # the tolerance (limit change) or the limit (tolerance change) at the time
    value: int


@dataclass
class ModelAccount:
    public_id: str
    limit: int
    tolerance: int
    initial_limit: int
    initial_tolerance: int
    balance: int = 0
    held: int = 0
    credit_entries: list[CreditEntry] = field(default_factory=list)
    manual_debits: int = 0
    refund_excess: int = 0
    # Unapplied credit now paying invoices (credit_control.balance): applications − reversals.
    applied_balance: int = 0
    statement_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class ModelHold:
    public_id: str
    account: str
    settle: bool
    installments: int
    hold: int
    original: int
    expiring: bool
    status: str = "Authorized"
    settled: int = 0
    refunded: int = 0
    refund_excess: int = 0
    # What invoice cancellations released (what was still owed on each).
    cancelled: int = 0
    # What credit notes and write-offs took off its invoices.
    adjusted: int = 0
    invoices: list[str] = field(default_factory=list)
    # A late fee: the overdue invoice it was charged for.
    fee_for: str | None = None

    @property
    def refundable(self) -> int:
        """domain.md: a refund is at most settled − already refunded − already cancelled (and,
        here, − already credited or written off)."""
        return self.settled - self.refunded - self.cancelled - self.adjusted


@dataclass
class ModelInvoice:
    public_id: str
    transaction: str
    installment: int
    value: int
    paid: int = 0
    status: str = "Opened"
    postponed_days: int = 0
    postponements: int = 0
    credited: int = 0
    written_off: int = 0
    balance_applied: int = 0
    # Dunning steps (days) already charged a late fee.
    fee_steps: set[int] = field(default_factory=set)

    @property
    def owed(self) -> int:
        return self.value - self.paid


@dataclass
class ModelConfig:
    tolerance_enabled: bool = False
    growth: int = 0
    postponement_enabled: bool = False
    postponement_limit: int = 0
    max_postponement_days: int = 0
    default_credit: int = 0


REFUSED = object()

LIMITS = st.one_of(
    st.integers(0, 2_000_000),
    st.sampled_from([0, 1, 101, 10_001, 100_000, 900_000, 1_000_000]),
)
# 0.5 and 0.25 make half cents (rounding ties) common in the Credit entries.
TOLERANCES = st.one_of(
    st.sampled_from([0, 1, 500, 1000, 2500, 3333, 5000, 5000, 5000, 10_000]),
    st.just(5000),
    st.integers(0, 10_000),
)
GROWTH_RATES = st.sampled_from([0, 1000, 2500, 3333, 5000, 10_000])
AMOUNTS = st.integers(1, 200_000)
CONFIGS = st.builds(
    lambda *fields: ModelConfig(*fields),
    st.booleans(),
    GROWTH_RATES,
    st.booleans(),
    st.integers(0, 3),
    st.integers(0, 60),
    st.sampled_from([0, 50_000, 100_001]),
)
INSTALLMENTS = st.one_of(st.integers(1, 4), st.sampled_from([10, 12]))
STATUSES = st.sampled_from(["Opened", "Paid", "Cancelled"])


ACCOUNT_COLUMNS = (
    Account.id,
    Account.public_id,
    Account.status,
    Account.credit_limit_cents,
    Account.tolerance_units,
    Account.initial_credit_limit_cents,
    Account.initial_tolerance_units,
    Account.balance_cents,
    Account.pre_authorized_cents,
    Account.document,
    Account.email,
    Account.updated_at,
)
HOLD_COLUMNS = (
    Transaction.id,
    Transaction.account_id,
    Transaction.public_id,
    Transaction.status,
    Transaction.hold_cents,
    Transaction.original_hold_cents,
    Transaction.settled_cents,
    Transaction.refunded_cents,
    Transaction.refund_excess_cents,
    Transaction.settle,
    Transaction.installments,
    Transaction.expires_at,
    Transaction.updated_at,
)
INVOICE_COLUMNS = (
    Invoice.id,
    Invoice.transaction_id,
    Invoice.public_id,
    Invoice.installment,
    Invoice.status,
    Invoice.value_cents,
    Invoice.paid_cents,
    Invoice.due_at,
    Invoice.original_due_at,
    Invoice.postponement_count,
    Invoice.credited_cents,
    Invoice.written_off_cents,
    Invoice.balance_applied_cents,
    Invoice.observation,
    Invoice.updated_at,
    Invoice.resolved_at,
)


@dataclass
class DbState:
    accounts: list
    holds: list
    invoices: list
    entries: list[tuple]
    config: tuple
    mismatches: list

    def snapshot(self) -> tuple:
        """Every column an operation could change: a refused one must leave all as they were."""
        return (
            tuple(tuple(row) for row in self.accounts),
            tuple(tuple(row) for row in self.holds),
            tuple(tuple(row) for row in self.invoices),
            tuple(self.entries),
            self.config,
        )


class LedgerMachine(RuleBasedStateMachine):
    database = None
    http = None

    def __init__(self):
        super().__init__()
        self.store = Store(self.database, self.http)
        self.api = self.store.api()
        self.principal = self.store.principal(name="ledger-property@example.com")
        self.config = ModelConfig()
        self.accounts: dict[str, ModelAccount] = {}
        self.holds: dict[str, ModelHold] = {}
        self.invoices: dict[str, ModelInvoice] = {}
        self.documents = 0
        self.statement_ids = 0
        self.before: tuple | None = None
        self.after_refusal: DbState | None = None
        self.checks = 0
        # How often each capped rule ran in this example (see CAPS).
        self.calls: Counter = Counter()
        # The account whose hold or settlement grew in this step.
        self.grown: str | None = None

    def teardown(self):
        OUTCOMES[f"~ steps per example: {self.checks}"] += 1
        assert self.read_state(with_check=True).mismatches == []

    # -- running operations ---------------------------------------------------------------

    def read_state(self, *, with_check: bool = False) -> DbState:
        """The store's rows as plain tuples (read inside one session); with `with_check`, also
        what `customer-credit check` finds wrong in the store."""
        store_id = self.store.id
        with self.database.read() as session:
            return DbState(
                accounts=session.execute(
                    select(*ACCOUNT_COLUMNS).where(Account.store_id == store_id).order_by(Account.id)
                ).all(),
                holds=session.execute(
                    select(*HOLD_COLUMNS).where(Transaction.store_id == store_id).order_by(Transaction.id)
                ).all(),
                invoices=session.execute(
                    select(*INVOICE_COLUMNS).where(Invoice.store_id == store_id).order_by(Invoice.id)
                ).all(),
                entries=[
                    tuple(row)
                    for row in session.execute(
                        select(
                            Statement.id,
                            Statement.account_id,
                            Statement.origin,
                            Statement.value_cents,
                            Statement.meta,
                        )
                        .where(Statement.store_id == store_id)
                        .order_by(Statement.id)
                    )
                ],
                config=tuple(
                    session.execute(
                        select(StoreConfig.updated_at).where(StoreConfig.store_id == store_id)
                    ).all()
                ),
                mismatches=recompute_mismatches(session, store_id) if with_check else [],
            )

    def changing_outside_attempt(self) -> None:
        """Rows are about to change other than through `attempt`: forget what was read."""
        self.before = None
        self.after_refusal = None

    def _before_snapshot(self) -> tuple:
        before = self.before if self.before is not None else self.read_state().snapshot()
        self.before = None
        self.after_refusal = None
        return before

    @staticmethod
    def _outcome(result: str) -> None:
        """Counts how often each rule went through or was refused (printed with -s)."""
        OUTCOMES[f"{sys._getframe(2).f_code.co_name}: {result}"] += 1

    def attempt(self, work, refusals: set[str]):
        """Runs `work(session)` in one write transaction. `refusals` is empty when the model
        says the operation must succeed, or the error codes that may refuse it."""
        before = self._before_snapshot()
        try:
            with self.database.write() as session:
                result = work(session)
        except DomainError as error:
            self._outcome(f"refused {error.code}")
            assert refusals, f"refused ({error.code}: {error.message}); the model expected success"
            assert error.code in refusals, f"refused with {error.code}, expected one of {refusals}"
            self.after_refusal = self.read_state()
            assert self.after_refusal.snapshot() == before, "a refused operation changed something"
            return REFUSED
        self._outcome("done")
        assert not refusals, f"accepted; the model expected a refusal: {sorted(refusals)}"
        return result

    def attempt_http(self, send, refusals: set[str]):
        before = self._before_snapshot()
        response = send()
        if response.status_code == 200:
            self._outcome("done")
            assert not refusals, f"accepted; the model expected a refusal: {sorted(refusals)}"
            return response
        assert response.status_code == 409, response.text
        code = response.json()["error"]["code"]
        self._outcome(f"refused {code}")
        assert refusals, f"refused ({code}); the model expected success"
        assert code in refusals, f"refused with {code}, expected one of {refusals}"
        self.after_refusal = self.read_state()
        assert self.after_refusal.snapshot() == before, "a refused request changed something"
        return REFUSED

    # -- model helpers ----------------------------------------------------------------------

    def pick(self, data, items: dict, prefer=None, *rather):
        """One of `items`; three times in four one that satisfies `prefer` (or, if none does,
        the first of `rather` that some item satisfies). Items are taken in the order they
        were made (their ids are random)."""
        keys = list(items)
        for wish in [prefer, *rather] if prefer is not None else []:
            preferred = [key for key in keys if wish(items[key])]
            if preferred:
                if data.draw(st.integers(0, 3), label="preferred") > 0:
                    keys = preferred
                break
        return items[data.draw(st.sampled_from(keys))]

    def room(self, account: ModelAccount) -> Decimal:
        """What a new hold or a growth may take, exactly: availableCredit + L × t."""
        available = Decimal(account.limit + account.balance - account.held)
        if self.config.tolerance_enabled:
            available += Decimal(account.limit) * rate(account.tolerance)
        return available

    def has_room(self, account: ModelAccount) -> bool:
        return self.room(account) >= 1

    def growth_cap(self, hold: ModelHold) -> Decimal:
        return Decimal(hold.original) * (1 + rate(self.config.growth))

    def issue(self, hold: ModelHold, total: int) -> None:
        # Parts of 0 cents (fewer cents than installments) issue no invoice.
        for cents in [part for part in split(total, hold.installments) if part > 0]:
            number = len(hold.invoices) + 1
            invoice = ModelInvoice(f"{hold.public_id}-{number:02d}", hold.public_id, number, cents)
            hold.invoices.append(invoice.public_id)
            self.invoices[invoice.public_id] = invoice

    def paid_on(self, hold: ModelHold) -> int:
        return sum(self.invoices[i].paid for i in hold.invoices)

    def open_owed(self, hold: ModelHold) -> int:
        return sum(self.invoices[i].owed for i in hold.invoices if self.invoices[i].status == "Opened")

    def lower(self, hold: ModelHold, amount: int) -> int:
        """Takes `amount` off the open invoices, last installment first; returns the rest."""
        remaining = amount
        for invoice_id in reversed(hold.invoices):
            invoice = self.invoices[invoice_id]
            if invoice.status != "Opened":
                continue
            if remaining == 0:
                break
            taken = min(invoice.owed, remaining)
            invoice.value -= taken
            remaining -= taken
            if invoice.value == invoice.paid:
                invoice.status = "Paid" if invoice.paid > 0 else "Cancelled"
        return remaining

    def set_limit(self, account: ModelAccount, new_limit: int) -> None:
        if new_limit != account.limit:
            if (new_limit - account.limit) * account.tolerance % 10_000 == 5_000:
                OUTCOMES["credit limit change: half a cent to round"] += 1
            account.credit_entries.append(
                CreditEntry(
                    "creditLimit",
                    account.limit,
                    new_limit,
                    account.tolerance,
                    limit_entry(account.limit, new_limit, account.tolerance),
                )
            )
            account.limit = new_limit

    def set_tolerance(self, account: ModelAccount, new_units: int) -> None:
        if new_units != account.tolerance:
            account.credit_entries.append(
                CreditEntry(
                    "tolerance",
                    account.tolerance,
                    new_units,
                    account.limit,
                    tolerance_entry(account.limit, account.tolerance, new_units),
                )
            )
            account.tolerance = new_units

    # -- accounts and configuration -------------------------------------------------------

    def _open(self, limit: int | None, tolerance: int | None, reuse: bool) -> None:
        if reuse and self.accounts:
            public_id = sorted(self.accounts)[0]
            document = public_id.split("_")[0]
            refusals = {"AccountAlreadyExists"}
        else:
            self.documents += 1
            document = f"{self.documents:011d}"
            public_id = f"{document}_CPF"
            refusals = set()
        opened = self.attempt(
            lambda session: accounts.open_account(
                session,
                self.principal,
                document=document,
                document_type="CPF",
                email=f"c{document}@example.com",
                credit_limit=None if limit is None else money(limit),
                tolerance=None if tolerance is None else rate(tolerance),
            ),
            refusals,
        )
        if opened is REFUSED:
            return
        assert opened.public_id == public_id
        limit = self.config.default_credit if limit is None else limit
        tolerance = 0 if tolerance is None else tolerance
        self.accounts[public_id] = ModelAccount(public_id, limit, tolerance, limit, tolerance)

    @initialize(
        data=st.data(),
        limit=st.integers(10_000, 2_000_000),
        tolerance=TOLERANCES,
        installments=INSTALLMENTS,
    )
    def first_account(self, data, limit, tolerance, installments):
        """An account, and in most examples a first purchase, so there are invoices to work
        on from the start."""
        self._open(limit, tolerance, reuse=False)
        if data.draw(st.integers(0, 3), label="first purchase") > 0:
            self.purchase(data, installments)

    @precondition(lambda self: len(self.accounts) < MAX_ACCOUNTS)
    @rule(limit=st.none() | LIMITS, tolerance=st.none() | TOLERANCES, reuse=st.integers(0, 5))
    def open_account(self, limit, tolerance, reuse):
        self._open(limit, tolerance, reuse=reuse == 0)

    @precondition(lambda self: self.calls["change_credit"] < CAPS["change_credit"])
    @rule(
        data=st.data(),
        how=st.sampled_from(["limit", "tolerance", "update"]),
        via_http=st.integers(0, 2),
    )
    def change_credit(self, data, how, via_http):
        """Credit limit or tolerance endpoint (service or HTTP), or an account update that
        sends either, both or neither."""
        self.calls["change_credit"] += 1
        account = self.pick(data, self.accounts)
        limits = st.one_of(
            LIMITS,
            st.just(account.limit),
            # Odd cents at a 0.5 or 0.25 tolerance leave half a cent to round.
            st.sampled_from([1, -1, 101, -101, 10_001]).map(lambda d: max(0, account.limit + d)),
            st.sampled_from([1, -1, 101, -101, 10_001]).map(lambda d: max(0, account.limit + d)),
            st.integers(-1_000, 1_000).map(lambda delta: max(0, account.limit + delta)),
        )
        if how == "limit" and account.tolerance in (2500, 5000, 7500):
            # Odd cents at such a tolerance leave half a cent to round.
            limits = st.one_of(limits, st.integers(0, 10_000).map(lambda k: account.limit + 2 * k + 1))
        if how == "update":
            limit = data.draw(st.none() | limits, label="new limit")
            tolerance = data.draw(st.none() | TOLERANCES, label="new tolerance")
            self._update_account(account, limit, tolerance)
        elif how == "limit":
            limit = data.draw(limits, label="new limit")
            if via_http == 0:
                self.attempt_http(
                    lambda: self.api.put(
                        f"/accounts/{account.public_id}/creditlimit",
                        json={"value": str(money(limit))},
                    ),
                    set(),
                )
            else:
                self.attempt(
                    lambda session: accounts.change_credit_limit(
                        session, self.principal, account.public_id, money(limit)
                    ),
                    set(),
                )
            self.set_limit(account, limit)
        else:
            tolerance = data.draw(TOLERANCES, label="new tolerance")
            if via_http == 0:
                self.attempt_http(
                    lambda: self.api.put(
                        f"/accounts/{account.public_id}/tolerance",
                        json={"value": str(rate(tolerance))},
                    ),
                    set(),
                )
            else:
                self.attempt(
                    lambda session: accounts.change_tolerance(
                        session, self.principal, account.public_id, rate(tolerance)
                    ),
                    set(),
                )
            self.set_tolerance(account, tolerance)

    def _update_account(self, account: ModelAccount, limit: int | None, tolerance: int | None):
        document = account.public_id.split("_")[0]
        self.attempt(
            lambda session: accounts.update_account(
                session,
                self.principal,
                account.public_id,
                email=f"updated-{document}@example.com",
                document=document,
                document_type="CPF",
                credit_limit=None if limit is None else money(limit),
                tolerance=None if tolerance is None else rate(tolerance),
            ),
            set(),
        )
        # Both sent: the limit moves first (at the old tolerance), then the tolerance.
        if limit is not None:
            self.set_limit(account, limit)
        if tolerance is not None:
            self.set_tolerance(account, tolerance)

    def _configure(self, config: ModelConfig) -> None:
        self.changing_outside_attempt()
        saved = configure(
            self.api,
            toleranceEnabled=config.tolerance_enabled,
            maxPreAuthorizationGrowthRate=str(rate(config.growth)),
            postponementEnabled=config.postponement_enabled,
            invoicePostponementLimit=config.postponement_limit,
            maxPostponementDays=config.max_postponement_days,
            defaultCreditValue=str(money(config.default_credit)),
        )
        assert saved["toleranceEnabled"] is config.tolerance_enabled
        assert Decimal(str(saved["maxPreAuthorizationGrowthRate"])) == rate(config.growth)
        self.config = config

    @initialize(config=CONFIGS, configure=st.integers(0, 4))
    def first_configuration(self, config, configure):
        """Most examples start configured; some keep the defaults (everything off)."""
        if configure:
            self._configure(config)

    @precondition(lambda self: self.calls["configure_store"] < CAPS["configure_store"])
    @rule(config=CONFIGS)
    def configure_store(self, config):
        self.calls["configure_store"] += 1
        self._configure(config)

    # -- holds, settlements, refunds ------------------------------------------------------

    def hold_value(self, data, account: ModelAccount) -> int:
        """Mostly what fits, sometimes exactly the ceiling or a cent over it, sometimes
        anything."""
        edge = floor_cents(self.room(account))
        choices = [AMOUNTS, st.just(max(1, edge + 1))]
        if edge >= 1:
            choices += [st.integers(1, edge)] * 4 + [st.just(edge)]
        return data.draw(st.one_of(*choices), label="hold value")

    def _create_hold(
        self,
        account: ModelAccount,
        value: int,
        *,
        settle: bool,
        installments: int,
        expiring: bool,
        via_put: bool,
    ) -> ModelHold | None:
        refusals = {"InsufficientCredit"} if value > self.room(account) else set()
        expires_at = utcnow() + timedelta(hours=1) if expiring else None
        fields = {
            "value": money(value),
            "settle": settle,
            "installments": installments,
            "expires_at": expires_at,
        }
        if via_put:
            transaction_id = uuid.uuid4().hex.upper()
            created = self.attempt(
                lambda session: transactions.put_hold(
                    session, self.principal, account.public_id, transaction_id, **fields
                ),
                refusals,
            )
        else:
            created = self.attempt(
                lambda session: transactions.create_hold(
                    session, self.principal, account.public_id, **fields
                ),
                refusals,
            )
        if created is REFUSED:
            return None
        if via_put:
            assert created.public_id == transaction_id
        account.held += value
        hold = ModelHold(created.public_id, account.public_id, settle, installments, value, value, expiring)
        self.holds[hold.public_id] = hold
        self.grown = account.public_id
        return hold

    @precondition(
        lambda self: len(self.holds) < MAX_HOLDS and self.calls["create_hold"] < CAPS["create_hold"]
    )
    @rule(
        data=st.data(),
        settle=st.sampled_from([True, True, True, False]),
        installments=INSTALLMENTS,
        expiring=st.booleans(),
        via_put=st.booleans(),
    )
    def create_hold(self, data, settle, installments, expiring, via_put):
        self.calls["create_hold"] += 1
        account = self.pick(data, self.accounts, prefer=self.has_room)
        self._create_hold(
            account,
            self.hold_value(data, account),
            settle=settle,
            installments=installments,
            expiring=expiring,
            via_put=via_put,
        )

    @precondition(lambda self: len(self.holds) < MAX_HOLDS and self.calls["purchase"] < CAPS["purchase"])
    @rule(data=st.data(), installments=INSTALLMENTS)
    def purchase(self, data, installments):
        """A hold settled at once, for its value or another one."""
        self.calls["purchase"] += 1
        account = self.pick(data, self.accounts, prefer=self.has_room)
        hold = self._create_hold(
            account,
            self.hold_value(data, account),
            settle=True,
            installments=installments,
            expiring=False,
            via_put=False,
        )
        if hold is not None:
            self._settle(hold, self.settle_value(data, hold))

    @precondition(
        lambda self: self.calls["update_hold"] < CAPS["update_hold"]
        and any(h.status == "Authorized" for h in self.holds.values())
    )
    @rule(data=st.data(), installments=st.none() | st.integers(1, 5))
    def update_hold(self, data, installments):
        self.calls["update_hold"] += 1
        hold = self.pick(data, self.holds, prefer=lambda h: h.status == "Authorized")
        account = self.accounts[hold.account]
        room, cap = self.room(account), self.growth_cap(hold)
        edge = floor_cents(room)
        choices = [AMOUNTS, edges(floor_cents(cap)), edges(hold.hold + edge)]
        if hold.hold > 0:
            choices.append(st.integers(1, hold.hold))
        value = data.draw(st.one_of(*choices), label="new hold value")
        installments = installments or hold.installments
        growth = value - hold.hold
        refusals = set()
        if hold.status != "Authorized":
            refusals = {f"Transaction{hold.status}"}
        elif growth > 0:
            if value > cap:
                refusals.add("GrowthLimitExceeded")
            if growth > room:
                refusals.add("InsufficientCredit")
        changed = self.attempt(
            lambda session: transactions.put_hold(
                session,
                self.principal,
                account.public_id,
                hold.public_id,
                value=money(value),
                settle=hold.settle,
                installments=installments,
            ),
            refusals,
        )
        if changed is REFUSED:
            return
        account.held += growth
        hold.hold = value
        hold.installments = installments
        if growth > 0:
            self.grown = account.public_id

    @precondition(lambda self: self.holds and self.calls["release_hold"] < CAPS["release_hold"])
    @rule(data=st.data(), expire=st.integers(0, 3))
    def release_hold(self, data, expire):
        """Cancel a hold (DELETE), or now and then let the worker expire the due ones."""
        self.calls["release_hold"] += 1
        if expire == 0:
            self.expire_holds()
        else:
            self.cancel_hold(self.pick(data, self.holds, prefer=lambda h: h.status == "Authorized"))

    def cancel_hold(self, hold: ModelHold):
        account = self.accounts[hold.account]
        refusals = {"TransactionSettled"} if hold.status == "Settled" else set()
        done = self.attempt(
            lambda session: transactions.cancel_hold(
                session, self.principal, account.public_id, hold.public_id
            ),
            refusals,
        )
        if done is REFUSED:
            return
        if hold.status == "Authorized":
            account.held -= hold.hold
            hold.hold = 0
            hold.status = "Cancelled"

    def settle_value(self, data, hold: ModelHold) -> int:
        """Mostly the hold (or a repeat of the settlement), else lower, the growth limit and
        a cent over it, what the credit allows and a cent over, or anything."""
        room, cap = self.room(self.accounts[hold.account]), self.growth_cap(hold)
        edge = floor_cents(room)
        choices = [AMOUNTS, edges(floor_cents(cap))]
        if hold.status == "Authorized":
            choices += [st.just(hold.hold)] * 6 + [st.integers(1, hold.hold)]
            choices.append(edges(hold.hold + edge))
        elif hold.status == "Settled":
            choices += [st.just(hold.settled)] * 2 + [st.integers(1, hold.settled)] * 2
            choices.append(edges(hold.settled + edge))
        return data.draw(st.one_of(*choices), label="settled value")

    @precondition(lambda self: self.holds and self.calls["settle"] < CAPS["settle"])
    @rule(data=st.data())
    def settle(self, data):
        self.calls["settle"] += 1
        hold = self.pick(
            data,
            self.holds,
            prefer=lambda h: h.status == "Authorized" or (h.status == "Settled" and not h.refunded),
        )
        self._settle(hold, self.settle_value(data, hold))

    def _settle(self, hold: ModelHold, value: int) -> None:
        account = self.accounts[hold.account]
        room, cap = self.room(account), self.growth_cap(hold)
        refusals: set[str] = set()
        growth = 0
        if hold.status in ("Cancelled", "Expired"):
            refusals = {f"Transaction{hold.status}"}
        elif hold.status == "Authorized":
            growth = value - hold.hold
            if not hold.settle:
                refusals.add("SettlementNotAllowed")
            if value > cap:
                refusals.add("GrowthLimitExceeded")
            if growth > 0 and growth > room:
                refusals.add("InsufficientCredit")
        elif value != hold.settled:
            growth = value - hold.settled
            if hold.refunded:
                refusals = {"TransactionRefunded"}
            elif growth < 0:
                if self.open_owed(hold) < -growth:
                    refusals.add("SettlementBelowPaid")
            else:
                if value > cap:
                    refusals.add("GrowthLimitExceeded")
                if growth > room:
                    refusals.add("InsufficientCredit")
        settled = self.attempt(
            lambda session: transactions.settle(
                session, self.principal, account.public_id, hold.public_id, value=money(value)
            ),
            refusals,
        )
        if settled is REFUSED:
            return
        assert (settled.public_id, settled.settled_cents) == (hold.public_id, value)
        if hold.status == "Authorized":
            account.held -= hold.hold
            hold.hold = 0
            hold.status = "Settled"
            hold.settled = value
            account.balance -= value
            self.issue(hold, value)
        elif growth < 0:
            assert self.lower(hold, -growth) == 0
            account.balance -= growth
            hold.settled = value
        elif growth > 0:
            self.issue(hold, growth)
            account.balance -= growth
            hold.settled = value
        if growth > 0:
            self.grown = account.public_id

    @precondition(
        lambda self: self.calls["refund"] < CAPS["refund"]
        and any(h.status == "Settled" and h.refundable > 0 for h in self.holds.values())
    )
    @rule(data=st.data())
    def refund(self, data):
        self.calls["refund"] += 1

        def can_refund(hold: ModelHold) -> bool:
            return hold.status == "Settled" and hold.refundable > 0

        # Refunds over paid or cancelled invoices are the ones that return money beyond the
        # open invoices (the paid part may come back; the cancelled part already has).
        hold = self.pick(
            data,
            self.holds,
            lambda h: can_refund(h)
            and any(self.invoices[i].paid or self.invoices[i].status == "Cancelled" for i in h.invoices),
            can_refund,
        )
        refundable = hold.refundable
        choices = [AMOUNTS, st.just(refundable + 1)]
        if refundable > 0:
            choices += [st.just(refundable)] * 3 + [st.integers(1, refundable)] * 3
        value = data.draw(st.one_of(*choices), label="refund")
        self._refund(hold, value)

    @precondition(
        lambda self: self.calls["refund_in_full"] < CAPS["refund_in_full"]
        and any(
            h.status == "Settled" and h.refundable > 0 and self.paid_on(h) > h.refund_excess
            for h in self.holds.values()
        )
    )
    @rule(data=st.data())
    def refund_in_full(self, data):
        """All that is left to refund of a purchase partly paid: what was paid comes back as
        credit, which the balance applications can then spend."""
        self.calls["refund_in_full"] += 1
        eligible = {
            key: h
            for key, h in self.holds.items()
            if h.status == "Settled" and h.refundable > 0 and self.paid_on(h) > h.refund_excess
        }
        # Mostly a purchase whose account has other invoices open: the credit can go to them.
        elsewhere = {
            key: h
            for key, h in eligible.items()
            if any(
                i.status == "Opened"
                and i.transaction != key
                and self._invoice_account(i).public_id == h.account
                for i in self.invoices.values()
            )
        }
        if elsewhere and data.draw(st.integers(0, 3), label="elsewhere") > 0:
            eligible = elsewhere
        hold = self.pick(data, eligible)
        self._refund(hold, hold.refundable)
        # Then, mostly, spend some of the credit it left on another open invoice.
        account = self.accounts[hold.account]
        targets = {
            key: i
            for key, i in self.invoices.items()
            if i.status == "Opened" and self._invoice_account(i) is account
        }
        OUTCOMES[f"refund_in_full: targets {bool(targets)} credit {self.unapplied(account) > 0}"] += 1
        if targets and self.unapplied(account) > 0 and data.draw(st.integers(0, 3), label="spend") > 0:
            self.changing_outside_attempt()
            self._apply(self.pick(data, targets), data)

    def _refund(self, hold: ModelHold, value: int) -> None:
        account = self.accounts[hold.account]
        refundable = hold.refundable
        if hold.status != "Settled":
            refusals = {"TransactionNotSettled"}
        elif value > refundable:
            refusals = {"RefundExceedsSettlement"}
        else:
            refusals = set()
        refunded = self.attempt(
            lambda session: transactions.refund(
                session, self.principal, account.public_id, hold.public_id, value=money(value)
            ),
            refusals,
        )
        if refunded is REFUSED:
            return
        assert refunded == value
        excess = self.lower(hold, value)
        if excess:
            OUTCOMES["refund: part of it beyond the open invoices"] += 1
        if hold.cancelled:
            OUTCOMES["refund: after a cancellation"] += 1
        # What was left to refund is what is still owed plus what was paid and not yet given
        # back: the excess comes only out of the latter.
        assert excess <= self.paid_on(hold) - hold.refund_excess
        account.balance += value
        hold.refunded += value
        hold.refund_excess += excess
        account.refund_excess += excess

    def expire_holds(self):
        """The worker's expire-holds job, run with a clock two hours ahead: every hold created
        with an expiration (one hour after its creation) falls off."""
        self.changing_outside_attempt()
        later = utcnow() + timedelta(hours=2)
        jobs = [job for job in default_jobs(1.0) if job.name == "expire-holds"]
        handled = Worker(self.database, jobs=jobs, clock=lambda: later).run_once()
        expiring = [h for h in self.holds.values() if h.expiring and h.status == "Authorized"]
        # Other stores' leftover holds may fall off too; ours must.
        assert handled["expire-holds"] >= len(expiring)
        for hold in expiring:
            self.accounts[hold.account].held -= hold.hold
            hold.hold = 0
            hold.status = "Expired"

    # -- invoices -------------------------------------------------------------------------

    def _invoice_account(self, invoice: ModelInvoice) -> ModelAccount:
        return self.accounts[self.holds[invoice.transaction].account]

    def _pay(self, invoice: ModelInvoice, amount: int) -> None:
        invoice.paid += amount
        self._invoice_account(invoice).balance += amount
        if invoice.paid == invoice.value:
            invoice.status = "Paid"

    def _cancel(self, invoice: ModelInvoice) -> None:
        self._invoice_account(invoice).balance += invoice.owed
        self.holds[invoice.transaction].cancelled += invoice.owed
        invoice.status = "Cancelled"

    def _reverse(self, invoice: ModelInvoice) -> None:
        account = self._invoice_account(invoice)
        # The cash part bounces; the part paid from the balance is credit again.
        account.balance -= invoice.paid - invoice.balance_applied
        account.applied_balance -= invoice.balance_applied
        invoice.paid = 0
        invoice.balance_applied = 0
        invoice.status = "Opened"

    @precondition(lambda self: any(i.status != "Cancelled" for i in self.invoices.values()))
    @rule(
        data=st.data(),
        action=st.sampled_from(["pay", "pay part", "pay part", "cancel", "status", "status", "postpone"]),
    )
    def invoice_action(self, data, action):
        """Pay (whole or part), cancel (DELETE), PUT a status (Paid → Opened reverses the
        payment), or postpone."""

        def opened(invoice: ModelInvoice) -> bool:
            return invoice.status == "Opened"

        def paid(invoice: ModelInvoice) -> bool:
            return invoice.status == "Paid"

        if action == "status":
            # Mostly a paid invoice: PUT status=Opened on it is the payment reversal.
            invoice = self.pick(data, self.invoices, paid, opened)
            statuses = ["Opened", "Opened", "Paid", "Cancelled"] if paid(invoice) else None
            self.change_invoice_status(
                invoice,
                data.draw(st.sampled_from(statuses) if statuses else STATUSES, label="status"),
                via_http=data.draw(st.integers(0, 2), label="via http") == 0,
            )
            return
        invoice = self.pick(data, self.invoices, opened, paid)
        if action == "postpone":
            self.postpone(invoice, data.draw(st.integers(1, 40), label="due days"))
        elif action == "pay":
            self.pay(invoice, data, whole=True)
        elif action == "pay part":
            self.pay(invoice, data, whole=False)
        else:
            self.cancel_invoice(invoice)

    def pay(self, invoice: ModelInvoice, data, *, whole: bool):
        account = self._invoice_account(invoice)
        amount = None
        refusals: set[str] = set()
        if invoice.status == "Cancelled":
            refusals = {"InvoiceCancelled"}
        if not whole:
            owed = invoice.owed
            # Mostly a part that leaves the invoice Opened; sometimes all of it, or a cent more.
            choices = [st.just(owed + 1)]
            if owed:
                choices.append(st.just(owed))
            if owed > 1:
                choices += [st.integers(1, owed - 1)] * 3
            amount = data.draw(st.one_of(*choices), label="payment")
            if invoice.status == "Paid":
                refusals = {"InvoiceAlreadyPaid"}
            elif invoice.status == "Opened" and amount > owed:
                refusals = {"PaymentExceedsOwed"}
        paid = self.attempt(
            lambda session: invoices.pay_invoice(
                session,
                self.principal,
                account.public_id,
                invoice.public_id,
                value=None if amount is None else money(amount),
            ),
            refusals,
        )
        if paid is REFUSED:
            return
        if invoice.status == "Opened":
            self._pay(invoice, invoice.owed if amount is None else amount)
            if invoice.status == "Opened":
                OUTCOMES["pay: part, the invoice stays Opened"] += 1
        assert (paid.status, paid.paid_cents) == (invoice.status, invoice.paid)

    def cancel_invoice(self, invoice: ModelInvoice):
        account = self._invoice_account(invoice)
        refusals = {"InvoiceAlreadyPaid"} if invoice.status == "Paid" else set()
        done = self.attempt(
            lambda session: invoices.cancel_invoice(
                session, self.principal, account.public_id, invoice.public_id
            ),
            refusals,
        )
        if done is not REFUSED and invoice.status == "Opened":
            self._cancel(invoice)

    def change_invoice_status(self, invoice: ModelInvoice, new_status: str, *, via_http: bool):
        account = self._invoice_account(invoice)
        refusals: set[str] = set()
        if invoice.status == "Cancelled" and new_status != "Cancelled":
            refusals = {"InvoiceCancelled"}
        elif invoice.status == "Paid" and new_status == "Cancelled":
            refusals = {"InvoiceAlreadyPaid"}
        elif invoice.status == "Paid" and new_status == "Opened":
            hold = self.holds[invoice.transaction]
            # A refund gave paid money back: the payments may not fall below it.
            if self.paid_on(hold) - invoice.paid < hold.refund_excess:
                refusals = {"PaymentAlreadyRefunded"}
        if via_http:
            done = self.attempt_http(
                lambda: self.api.put(
                    f"/accounts/{account.public_id}/invoices/{invoice.public_id}",
                    json={"status": new_status},
                ),
                refusals,
            )
        else:
            done = self.attempt(
                lambda session: invoices.change_invoice(
                    session, self.principal, account.public_id, invoice.public_id, status=new_status
                ),
                refusals,
            )
        if done is REFUSED or new_status == invoice.status:
            return
        if new_status == "Paid":
            self._pay(invoice, invoice.owed)
        elif new_status == "Cancelled":
            self._cancel(invoice)
        else:
            self._reverse(invoice)

    def postpone(self, invoice: ModelInvoice, due_days: int):
        account = self._invoice_account(invoice)
        config = self.config
        refusals = set()
        if not config.postponement_enabled or config.postponement_limit <= 0:
            refusals.add("PostponementDisabled")
        if invoice.status != "Opened":
            refusals.add("InvoiceNotOpened")
        if invoice.postponements >= config.postponement_limit:
            refusals.add("PostponementLimitReached")
        if invoice.postponed_days + due_days > config.max_postponement_days:
            refusals.add("PostponementTooLong")
        done = self.attempt(
            lambda session: invoices.postpone_invoice(
                session, self.principal, account.public_id, invoice.public_id, due_days=due_days
            ),
            refusals,
        )
        if done is not REFUSED:
            invoice.postponed_days += due_days
            invoice.postponements += 1

    # -- credit control: credit notes, write-offs, applied balances, late fees ---------------

    def unapplied(self, account: ModelAccount) -> int:
        """balance + what the account's Opened invoices still owe (credit_control.balance)."""
        owed = sum(
            invoice.owed
            for invoice in self.invoices.values()
            if invoice.status == "Opened" and self._invoice_account(invoice) is account
        )
        return account.balance + owed

    def _amount_against(self, data, owed: int, label: str) -> int:
        """Mostly within what is owed; sometimes all of it, or a cent more."""
        choices = []
        if owed > 1:
            choices += [st.integers(1, owed - 1)] * 3
        if owed:
            choices += [st.just(owed)] * 2
        choices.append(st.just(owed + 1))
        return data.draw(st.one_of(*choices), label=label)

    @precondition(
        lambda self: self.calls["adjust"] < CAPS["adjust"]
        and any(i.status != "Cancelled" for i in self.invoices.values())
    )
    @rule(data=st.data(), kind=st.sampled_from([CREDIT_NOTE, WRITE_OFF]))
    def adjust(self, data, kind):
        """A credit note or a write-off on an invoice."""
        self.calls["adjust"] += 1
        invoice = self.pick(data, self.invoices, lambda i: i.status == "Opened")
        account = self._invoice_account(invoice)
        amount = self._amount_against(data, invoice.owed, "adjustment")
        refusals: set[str] = set()
        if invoice.status == "Cancelled":
            refusals = {"InvoiceCancelled"}
        elif invoice.status == "Paid":
            refusals = {"InvoiceAlreadyPaid"}
        elif amount > invoice.owed:
            refusals = {"CreditNoteExceedsOwed" if kind == CREDIT_NOTE else "WriteOffExceedsOwed"}
        done = self.attempt(
            lambda session: adjustments.issue(
                session,
                self.principal,
                account.public_id,
                invoice.public_id,
                kind=kind,
                value=money(amount),
                reason="property",
                now=utcnow(),
            ),
            refusals,
        )
        if done is REFUSED:
            return
        invoice.value -= amount
        if kind == CREDIT_NOTE:
            invoice.credited += amount
        else:
            invoice.written_off += amount
        self.holds[invoice.transaction].adjusted += amount
        account.balance += amount
        if invoice.value == invoice.paid:
            invoice.status = "Paid" if invoice.paid > 0 else "Cancelled"
            OUTCOMES[f"{kind}: resolves the invoice"] += 1

    @precondition(
        lambda self: self.calls["apply_balance"] < CAPS["apply_balance"]
        and any(i.status != "Cancelled" for i in self.invoices.values())
    )
    @rule(data=st.data())
    def apply_balance(self, data):
        """Pays part of an invoice from the account's unapplied credit."""
        self.calls["apply_balance"] += 1
        spendable = {
            key: i
            for key, i in self.invoices.items()
            if i.status == "Opened" and self.unapplied(self._invoice_account(i)) > 0
        }
        OUTCOMES[f"apply_balance: credit to spend {bool(spendable)}"] += 1
        if spendable and data.draw(st.integers(0, 3), label="spendable") > 0:
            invoice = self.pick(data, spendable)
        else:
            invoice = self.pick(data, self.invoices, lambda i: i.status == "Opened")
        self._apply(invoice, data)

    def _apply(self, invoice: ModelInvoice, data) -> None:
        account = self._invoice_account(invoice)
        available = self.unapplied(account)
        amount = self._amount_against(data, min(invoice.owed, max(available, 0)) or invoice.owed, "applied")
        refusals: set[str] = set()
        if invoice.status == "Cancelled":
            refusals = {"InvoiceCancelled"}
        elif invoice.status == "Paid":
            refusals = {"InvoiceAlreadyPaid"}
        elif amount > invoice.owed:
            refusals = {"PaymentExceedsOwed"}
        elif amount > available:
            refusals = {"InsufficientBalance"}
        done = self.attempt(
            lambda session: balance.apply_balance(
                session,
                self.principal,
                account.public_id,
                invoice.public_id,
                value=money(amount),
                now=utcnow(),
            ),
            refusals,
        )
        if done is REFUSED:
            return
        invoice.paid += amount
        invoice.balance_applied += amount
        account.applied_balance += amount
        if invoice.paid == invoice.value:
            invoice.status = "Paid"

    @precondition(
        lambda self: self.calls["late_fee"] < CAPS["late_fee"]
        and len(self.holds) < MAX_HOLDS
        and any(i.status == "Opened" for i in self.invoices.values())
    )
    @rule(data=st.data(), days=st.sampled_from([3, 10]), fee=st.integers(1, 5_000))
    def late_fee(self, data, days, fee):
        """The dunning job's charge of a late fee (a fixed amount) for one invoice and step."""
        self.calls["late_fee"] += 1
        invoice = self.pick(
            data, self.invoices, lambda i: i.status == "Opened" and self.holds[i.transaction].fee_for is None
        )
        account = self._invoice_account(invoice)
        if invoice.status != "Opened" or self.holds[invoice.transaction].fee_for is not None:
            return
        self.changing_outside_attempt()
        with self.database.write() as session:
            level = session.get(DunningLevel, (self.store.id, days))
            if level is None:
                level = DunningLevel(store_id=self.store.id, days=days, name=f"+{days}", fee_due_days=10)
                session.add(level)
            level.fee_fixed_cents, level.fee_rate_units = fee, 0
            session.flush()
            row = session.scalar(
                select(Account)
                .where(Account.public_id == account.public_id, Account.store_id == self.store.id)
                .where(Account.status == "Open")
                .with_for_update()
            )
            target = session.scalar(select(Invoice).where(Invoice.public_id == invoice.public_id))
            charged = dunning.charge_fee(session, row, target, level, utcnow())
            public_id = None if charged is None else charged.public_id
        if days in invoice.fee_steps:
            assert public_id is None, "a step was charged twice"
            return
        assert public_id is not None
        invoice.fee_steps.add(days)
        transaction_id = public_id.rsplit("-", 1)[0]
        hold = ModelHold(
            transaction_id,
            account.public_id,
            True,
            1,
            0,
            fee,
            False,
            status="Settled",
            settled=fee,
            fee_for=invoice.public_id,
        )
        self.holds[transaction_id] = hold
        self.issue(hold, fee)
        account.balance -= fee
        OUTCOMES["late fee: charged"] += 1

    # -- manual debits ----------------------------------------------------------------------

    @precondition(lambda self: self.calls["decrease_balance"] < CAPS["decrease_balance"])
    @rule(
        data=st.data(),
        amount=st.integers(1, 5_000),
        negative=st.booleans(),
        reuse=st.integers(0, 3),
    )
    def decrease_balance(self, data, amount, negative, reuse):
        self.calls["decrease_balance"] += 1
        account = self.pick(data, self.accounts)
        if reuse == 0 and account.statement_ids:
            statement_id = data.draw(st.sampled_from(sorted(account.statement_ids)))
            amount = data.draw(st.sampled_from([account.statement_ids[statement_id], amount]))
        else:
            self.statement_ids += 1
            statement_id = f"debit-{self.statement_ids}"
        known = account.statement_ids.get(statement_id)
        refusals = {"StatementIdReused"} if known is not None and known != amount else set()
        value = -money(amount) if negative else money(amount)
        entry = self.attempt(
            lambda session: statements.decrease_balance(
                session, self.principal, account.public_id, statement_id, value
            ),
            refusals,
        )
        if entry is REFUSED:
            return
        assert entry.value_cents == -amount
        if known is None:
            account.statement_ids[statement_id] = amount
            account.manual_debits += amount
            account.balance -= amount

    # -- reading through HTTP ---------------------------------------------------------------

    @precondition(lambda self: self.calls["read_through_http"] < CAPS["read_through_http"])
    @rule(data=st.data())
    def read_through_http(self, data):
        """The account and its statements as a client sees them."""
        self.calls["read_through_http"] += 1
        account = self.pick(data, self.accounts)
        response = self.api.get(f"/accounts/{account.public_id}")
        assert response.status_code == 200, response.text
        body = wire(response)
        limit, balance, held = money(account.limit), money(account.balance), money(account.held)
        assert body["creditLimit"] == limit
        assert body["tolerance"] == rate(account.tolerance)
        assert body["balance"] == balance
        assert body["preAuthorizedCredit"] == held
        assert body["availableBalance"] == limit + balance
        assert body["availableCredit"] == limit + balance - held

        response = self.api.get(f"/accounts/{account.public_id}/statements")
        assert response.status_code == 200, response.text
        body = wire(response)
        entries = body["statements"]
        credit_values = [e["value"] for e in entries if e["origin"] == "Credit"]
        assert credit_values == [money(c.value) for c in account.credit_entries]
        moved = sum((e["value"] for e in entries if e["origin"] != "Credit"), Decimal(0))
        assert body["currentBalance"] == moved == money(account.balance)
        assert body["previousBalance"] == 0
        assert body["intervalBalance"] == sum((e["value"] for e in entries), Decimal(0))

    # -- the invariants ---------------------------------------------------------------------

    @invariant()
    def books_agree(self):
        self.checks += 1
        grown, self.grown = self.grown, None
        # The product's own check (ledger.check) every few steps; the recomputation below,
        # written here from domain.md, after every step.
        with_check = self.checks % CHECK_EVERY == 0
        if self.after_refusal is not None and not with_check:
            # The step's last change was a refused operation: the rows read right after it
            # (and found unchanged) are the state to check.
            state = self.after_refusal
        else:
            state = self.read_state(with_check=with_check)
        self.after_refusal = None
        self.before = state.snapshot()
        assert state.mismatches == []

        by_pk = {a.id: a.public_id for a in state.accounts}
        assert sorted(by_pk.values()) == sorted(self.accounts)
        moved = dict.fromkeys(by_pk, 0)
        credit_entries = {pk: [] for pk in by_pk}
        for _id, account_pk, origin, value, meta in state.entries:
            if origin == CREDIT:
                credit_entries[account_pk].append((value, meta))
            else:
                moved[account_pk] += value
        live_holds = dict.fromkeys(by_pk, 0)
        for hold in state.holds:
            if hold.status == "Authorized":
                live_holds[hold.account_id] += hold.hold_cents
        account_of_hold = {hold.id: hold.account_id for hold in state.holds}
        owed_by_account = dict.fromkeys(by_pk, 0)
        for invoice in state.invoices:
            if invoice.status == "Opened":
                owed_by_account[account_of_hold[invoice.transaction_id]] += (
                    invoice.value_cents - invoice.paid_cents
                )

        for row in state.accounts:
            model = self.accounts[row.public_id]
            if row.public_id == grown:
                # Right after a hold or a growth: availableCredit + L × t is never negative.
                numbers = figures(row)
                slack = numbers.credit_limit * numbers.tolerance
                if not self.config.tolerance_enabled:
                    slack = 0
                assert numbers.available_credit + slack >= 0, (numbers, self.config)
            assert (row.credit_limit_cents, row.tolerance_units) == (model.limit, model.tolerance)
            assert (row.initial_credit_limit_cents, row.initial_tolerance_units) == (
                model.initial_limit,
                model.initial_tolerance,
            )
            # Stored figures against the ledger and the live holds, and against the model.
            assert row.balance_cents == moved[row.id] == model.balance
            assert row.pre_authorized_cents == live_holds[row.id] == model.held
            numbers = figures(row)
            limit, balance, held = money(model.limit), money(model.balance), money(model.held)
            assert numbers.available_balance == limit + balance
            assert numbers.available_credit == limit + balance - held
            # Every Credit entry: domain.md's value for the change its metadata names.
            assert len(credit_entries[row.id]) == len(model.credit_entries)
            for (value, meta), expected in zip(credit_entries[row.id], model.credit_entries, strict=False):
                assert value == expected.value, (meta, expected)
                if expected.kind == "creditLimit":
                    assert money(expected.before) == Decimal(meta["creditLimit"]["from"])
                    assert money(expected.after) == Decimal(meta["creditLimit"]["to"])
                    assert rate(expected.other) == Decimal(meta["tolerance"])
                else:
                    assert rate(expected.before) == Decimal(meta["tolerance"]["from"])
                    assert rate(expected.after) == Decimal(meta["tolerance"]["to"])
                    assert money(expected.other) == Decimal(meta["creditLimit"])
            # What is still owed on Opened invoices (value − creditValue) is what the balance
            # says, once manual debits and refunds beyond the open invoices are counted.
            # Paying from the unapplied balance lowers what is owed and leaves the balance.
            owed = owed_by_account[row.id]
            assert (
                -row.balance_cents == owed - model.refund_excess + model.manual_debits + model.applied_balance
            )
            if model.refund_excess == 0 and model.manual_debits == 0 and model.applied_balance == 0:
                assert -row.balance_cents == owed

        assert {h.public_id for h in state.holds} == set(self.holds)
        invoice_sums: dict[int, int] = {}
        cancelled_sums: dict[int, int] = {}
        for invoice in state.invoices:
            invoice_sums[invoice.transaction_id] = (
                invoice_sums.get(invoice.transaction_id, 0) + invoice.value_cents
            )
            if invoice.status == "Cancelled":
                cancelled_sums[invoice.transaction_id] = cancelled_sums.get(invoice.transaction_id, 0) + (
                    invoice.value_cents - invoice.paid_cents
                )
        for row in state.holds:
            model = self.holds[row.public_id]
            assert by_pk[row.account_id] == model.account
            assert (
                row.status,
                row.hold_cents,
                row.original_hold_cents,
                row.settled_cents,
                row.refunded_cents,
                row.refund_excess_cents,
                row.settle,
                row.installments,
            ) == (
                model.status,
                model.hold,
                model.original,
                model.settled,
                model.refunded,
                model.refund_excess,
                model.settle,
                model.installments,
            )
            assert (
                invoice_sums.get(row.id, 0)
                == row.settled_cents - (row.refunded_cents - row.refund_excess_cents) - model.adjusted
            )
            # domain.md's invariant: cancellations + refunds (the paid excess given back
            # included) + credit notes and write-offs ≤ settled; and the excess never more
            # than what was paid.
            assert cancelled_sums.get(row.id, 0) == model.cancelled
            assert model.cancelled + model.refunded + model.adjusted <= model.settled
            assert model.refund_excess <= self.paid_on(model)

        assert {i.public_id for i in state.invoices} == set(self.invoices)
        for row in state.invoices:
            model = self.invoices[row.public_id]
            assert (row.installment, row.value_cents, row.paid_cents, row.status) == (
                model.installment,
                model.value,
                model.paid,
                model.status,
            ), row.public_id
            assert row.postponement_count == model.postponements
            assert (row.credited_cents, row.written_off_cents, row.balance_applied_cents) == (
                model.credited,
                model.written_off,
                model.balance_applied,
            ), row.public_id
            assert row.due_at - row.original_due_at == timedelta(days=model.postponed_days)


def machine_settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


@pytest.mark.slow
@pytest.mark.shares_cores
def test_ledger_state_machine(database, http):
    machine = type("LedgerMachineOnThisDatabase", (LedgerMachine,), {"database": database, "http": http})
    OUTCOMES.clear()
    run_state_machine_as_test(machine, settings=machine_settings())
    print("\n".join(f"{count:5d}  {outcome}" for outcome, count in sorted(OUTCOMES.items())))


# ---------------------------------------------------------------------------------------------
# Worked examples: the Credit entries and the exact limits the state machine relies on.


def _statements(api, account_id: str) -> dict:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return wire(response)


def test_guide_example_lowering_the_limit_with_tolerance_writes_minus_1100(api, database, store):
    opened = open_account(api, credit_limit="10000", tolerance="0.1")
    response = api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": "9000"})
    assert response.status_code == 200, response.text

    body = _statements(api, opened["id"])
    (entry,) = body["statements"]
    assert entry["origin"] == "Credit"
    assert entry["value"] == Decimal("-1100")
    assert Decimal(entry["metadata"]["creditLimit"]["from"]) == 10_000
    assert Decimal(entry["metadata"]["creditLimit"]["to"]) == 9_000
    # A Credit entry never moves the balance.
    assert body["currentBalance"] == 0
    assert body["intervalBalance"] == Decimal("-1100")
    account = wire(api.get(f"/accounts/{opened['id']}"))
    assert (account["creditLimit"], account["balance"]) == (9000, 0)
    assert account["availableCredit"] == 9000
    with database.read() as session:
        row = session.scalar(
            select(Account).where(Account.store_id == store.id, Account.public_id == opened["id"])
        )
        assert check_account(session, row) == []


def test_tolerance_change_writes_limit_times_the_difference(api):
    opened = open_account(api, credit_limit="3000", tolerance="0.05")
    assert api.put(f"/accounts/{opened['id']}/tolerance", json={"value": "0.1"}).status_code == 200
    assert api.put(f"/accounts/{opened['id']}/tolerance", json={"value": 0}).status_code == 200
    values = [e["value"] for e in _statements(api, opened["id"])["statements"]]
    assert values == [Decimal("150"), Decimal("-300")]


def test_limit_change_entry_is_rounded_once_to_the_cent(api):
    """(101.01 − 100.00) × 1.5 = 1.515 → 1.52; rounding the tolerance part alone (0.505 →
    0.50) and adding it to 1.01 would give 1.51."""
    opened = open_account(api, credit_limit="100", tolerance="0.5")
    path = f"/accounts/{opened['id']}/creditlimit"
    assert api.put(path, json={"value": "101.01"}).status_code == 200
    assert api.put(path, json={"value": "100"}).status_code == 200
    values = [e["value"] for e in _statements(api, opened["id"])["statements"]]
    assert values == [Decimal("1.52"), Decimal("-1.52")]


def test_hold_ceiling_is_exact_not_rounded(api):
    """availableCredit + L × t with L = 100.03 and t = 0.5 is 150.045: 150.04 fits,
    150.05 does not (rounding L × t to 50.02 first would let it through)."""
    configure(api, toleranceEnabled=True)
    opened = open_account(api, credit_limit="100.03", tolerance="0.5")
    path = f"/accounts/{opened['id']}/transactions"
    too_much = api.post(path, json={"value": "150.05", "settle": True, "installments": 1})
    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["error"]["code"] == "InsufficientCredit"
    fits = api.post(path, json={"value": "150.04", "settle": True, "installments": 1})
    assert fits.status_code == 200, fits.text
    account = wire(api.get(f"/accounts/{opened['id']}"))
    assert account["availableCredit"] + account["creditLimit"] * account["tolerance"] >= 0


def test_growth_limit_is_exact_not_rounded(api):
    """A hold of 0.03 at a 50 % growth rate may reach 0.045: 0.04 is allowed, 0.05 is not."""
    configure(api, maxPreAuthorizationGrowthRate="0.5")
    opened = open_account(api, credit_limit="10")
    created = api.post(
        f"/accounts/{opened['id']}/transactions",
        json={"value": "0.03", "settle": True, "installments": 1},
    )
    assert created.status_code == 200, created.text
    path = f"/accounts/{opened['id']}/transactions/{created.json()['id']}"
    too_much = api.put(path, json={"value": "0.05", "settle": True, "installments": 1})
    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["error"]["code"] == "GrowthLimitExceeded"
    fits = api.put(path, json={"value": "0.04", "settle": True, "installments": 1})
    assert fits.status_code == 200, fits.text


class _Rollback(Exception):
    pass


def test_check_reports_tampered_books(api, database, store):
    """The check the state machine relies on does find wrong books (each tampering is rolled
    back)."""
    opened = open_account(api, credit_limit="10000", tolerance="0.1")
    account_path = f"/accounts/{opened['id']}"
    for path, body in (
        ("/creditlimit", {"value": "9000"}),
        ("/tolerance", {"value": "0.2"}),
        ("/statements/debit-1", {"value": "-15"}),
    ):
        response = api.put(account_path + path, json=body)
        assert response.status_code == 200, response.text

    def account_row(session) -> Account:
        return session.scalar(
            select(Account).where(Account.store_id == store.id, Account.public_id == opened["id"])
        )

    def credit_entries(session, row) -> list[Statement]:
        return list(
            session.scalars(
                select(Statement)
                .where(Statement.account_id == row.id, Statement.origin == CREDIT)
                .order_by(Statement.id)
            )
        )

    def found(tamper) -> set[tuple]:
        result = set()
        try:
            with database.write() as session:
                row = account_row(session)
                assert check_account(session, row) == []
                tamper(session, row)
                session.flush()
                result = {(m.field, m.stored, m.recomputed) for m in check_account(session, row)}
                raise _Rollback
        except _Rollback:
            pass
        return result

    def wrong_limit_entry(session, row):
        credit_entries(session, row)[0].value_cents = -100_000

    def unreadable_tolerance_entry(session, row):
        credit_entries(session, row)[1].meta = {}

    def limit_without_entry(session, row):
        row.credit_limit_cents = 800_000

    def tolerance_without_entry(session, row):
        row.tolerance_units = 3000

    def balance_off(session, row):
        row.balance_cents -= 1

    with database.read() as session:
        limit_entry, tolerance_entry = credit_entries(session, account_row(session))
        limit_entry_id, tolerance_entry_id = limit_entry.id, tolerance_entry.id
    # 10,000 → 9,000 at 10 % is −1,100.00; 9,000 × (0.2 − 0.1) is 900.00.
    assert found(wrong_limit_entry) == {(f"Credit entry #{limit_entry_id}", -100_000, -110_000)}
    assert found(unreadable_tolerance_entry) == {
        (f"Credit entry #{tolerance_entry_id} metadata unreadable", 90_000, 0),
        ("tolerance", 2000, 1000),
    }
    assert found(limit_without_entry) == {("creditLimit", 800_000, 900_000)}
    assert found(tolerance_without_entry) == {("tolerance", 3000, 2000)}
    assert found(balance_off) == {("balance", -1_501, -1_500)}
