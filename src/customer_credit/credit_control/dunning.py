"""Dunning levels: escalating steps after the due date (for example +3, +10 and +30 days), each
with its own e-mail and an optional late fee (docs/credit-control.md).

A level is an "after" reminder trigger of its own (reminders.schedule adds them to the store's
notification schedule), so its e-mail goes out at most once per invoice, step and due date, by
the reminder machinery. Its template, when it has one, replaces the store's "after" template
for that step.

A late fee is never silent: when an Opened invoice is `days` days overdue (invoices.overdue_days,
calendar days in the store's zone) the `dunning-fees` job charges it as a purchase of its own —
a Settled transaction of one invoice due `fee_due_days` later, with its settlement entry in the
ledger (metadata `lateFee`) and an `invoice.late_fee_charged` event. A unique key on
(overdue invoice, step) charges each step once whatever the number of workers; a step reached
before its fee was configured (`fee_since`) is not charged, and a fee invoice bears no fee."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from customer_credit import events
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.credit_control.models import DunningLevel
from customer_credit.credit_control.overdue_policy import record_store_event
from customer_credit.dates import store_zone, timestamp
from customer_credit.errors import InvalidInput, field_error
from customer_credit.invoices import issuing
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import days_overdue
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import INVOICE
from customer_credit.money import (
    MAX_AMOUNT,
    cents_times_rate,
    from_cents,
    rate_for_wire,
    rate_from_units,
    rate_to_units,
    to_cents,
)
from customer_credit.payment_conditions.service import Schedule
from customer_credit.reminders.models import AFTER
from customer_credit.reminders.schedule import Trigger, local_midnight
from customer_credit.reminders.templates import check_templates
from customer_credit.stores import service as stores
from customer_credit.stores.models import Store
from customer_credit.transactions.models import SETTLED, Transaction
from customer_credit.validation import clean_text

MAX_LEVELS = 10
MAX_DAYS = 3650
MAX_NAME = 80
MAX_FEE_DUE_DAYS = 365
DEFAULT_TIME_OF_DAY = "09:00"
DEFAULT_FEE_DUE_DAYS = 10
FEE_BATCH = 200
ACTOR = "dunning"


@dataclass(frozen=True)
class LevelIn:
    """One level as sent: amounts and rates already Decimal (the wire types checked them)."""

    days: int
    name: str
    time_of_day: str | None = None
    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None
    fee_fixed: Decimal = Decimal(0)
    fee_rate: Decimal = Decimal(0)
    fee_due_days: int = DEFAULT_FEE_DUE_DAYS


def get_levels(session: Session, store_id: int) -> list[DunningLevel]:
    return list(
        session.scalars(
            select(DunningLevel).where(DunningLevel.store_id == store_id).order_by(DunningLevel.days)
        )
    )


def level_for(session: Session, store_id: int, days: int) -> DunningLevel | None:
    return session.get(DunningLevel, (store_id, days))


def has_fee(level: DunningLevel) -> bool:
    return level.fee_fixed_cents > 0 or level.fee_rate_units > 0


def fee_cents(level: DunningLevel, owed_cents: int) -> int:
    """The fixed part plus the rate of what is still owed, rounded half to even to the cent."""
    return level.fee_fixed_cents + cents_times_rate(owed_cents, level.fee_rate_units)


def _field(index: int, name: str) -> str:
    return f"levels[{index}].{name}"


def _check_level(index: int, raw: LevelIn) -> dict:
    if isinstance(raw.days, bool) or not 1 <= raw.days <= MAX_DAYS:
        raise field_error(_field(index, "days"), f"must be a whole number of days between 1 and {MAX_DAYS}")
    name = (raw.name or "").strip()
    if not name:
        raise field_error(_field(index, "name"), "must not be empty")
    name = clean_text(_field(index, "name"), name, max_length=MAX_NAME, allow_newlines=False)
    moment = raw.time_of_day or DEFAULT_TIME_OF_DAY
    try:
        parsed = time.fromisoformat(moment)
    except ValueError:
        raise field_error(_field(index, "timeOfDay"), "must be a time of day such as 09:00") from None
    if parsed.second or parsed.microsecond or parsed.tzinfo is not None:
        raise field_error(_field(index, "timeOfDay"), "must be hours and minutes, such as 09:00")
    subject, text, html = raw.subject, raw.text_body, raw.html_body
    if (subject is None) != (text is None) or (html is not None and subject is None):
        raise field_error(
            _field(index, "subject"),
            "a level's own e-mail needs both subject and textBody (htmlBody is optional); "
            "send none of them to use the store's overdue reminder",
        )
    if subject is not None and text is not None:
        try:
            check_templates(subject, text, html)
        except InvalidInput as error:
            details = error.details or []
            where = details[0]["field"] if details else "subject"
            raise field_error(
                _field(index, {"text": "textBody", "html": "htmlBody"}.get(where, where)), error.message
            ) from None
    if (
        raw.fee_fixed < 0
        or raw.fee_fixed > MAX_AMOUNT
        or raw.fee_fixed != raw.fee_fixed.quantize(Decimal("0.01"))
    ):
        raise field_error(
            _field(index, "lateFee.fixed"), "must be an amount of 0 or more, with at most 2 decimal places"
        )
    if not Decimal(0) <= raw.fee_rate <= Decimal(1) or raw.fee_rate != raw.fee_rate.quantize(
        Decimal("0.0001")
    ):
        raise field_error(
            _field(index, "lateFee.rate"), "must be a rate between 0 and 1 with at most 4 decimal places"
        )
    if isinstance(raw.fee_due_days, bool) or not 0 <= raw.fee_due_days <= MAX_FEE_DUE_DAYS:
        raise field_error(_field(index, "lateFee.dueDays"), f"must be between 0 and {MAX_FEE_DUE_DAYS}")
    return {
        "days": raw.days,
        "name": name,
        "time_of_day": parsed.strftime("%H:%M"),
        "subject": subject,
        "text_body": text,
        "html_body": html,
        "fee_fixed_cents": to_cents(raw.fee_fixed),
        "fee_rate_units": rate_to_units(raw.fee_rate),
        "fee_due_days": raw.fee_due_days,
    }


def save_levels(
    session: Session, principal: Principal, levels: Sequence[LevelIn], *, now: datetime
) -> list[DunningLevel]:
    """Replaces the store's levels with `levels` (every one checked before anything changes) and
    records a `store.dunning_levels_changed` event when something changed. A level whose fee is
    unchanged keeps its `fee_since`."""
    if len(levels) > MAX_LEVELS:
        raise field_error("levels", f"at most {MAX_LEVELS} levels")
    cleaned = [_check_level(index, level) for index, level in enumerate(levels)]
    seen: set[int] = set()
    for index, level in enumerate(cleaned):
        if level["days"] in seen:
            raise field_error(_field(index, "days"), f"another level is already at {level['days']} days")
        seen.add(level["days"])
    # Saves of one store take turns (each replaces every row).
    session.get_one(Store, principal.store_id, with_for_update=True)
    before = {level.days: level for level in get_levels(session, principal.store_id)}
    before_wire = [level_wire(level) for level in before.values()]
    session.execute(delete(DunningLevel).where(DunningLevel.store_id == principal.store_id))
    session.flush()
    saved: list[DunningLevel] = []
    for values in sorted(cleaned, key=lambda level: level["days"]):
        previous = before.get(values["days"])
        row = DunningLevel(
            store_id=principal.store_id, updated_by=principal.name[:254], updated_at=now, **values
        )
        if has_fee(row):
            same_fee = previous is not None and (previous.fee_fixed_cents, previous.fee_rate_units) == (
                row.fee_fixed_cents,
                row.fee_rate_units,
            )
            row.fee_since = (
                previous.fee_since if previous is not None and same_fee and previous.fee_since else now
            )
        saved.append(row)
    session.add_all(saved)
    session.flush()
    after_wire = [level_wire(level) for level in saved]
    if _comparable(after_wire) != _comparable(before_wire):
        record_store_event(
            session,
            principal.store_id,
            events.DUNNING_LEVELS_CHANGED,
            {"dunningLevels": after_wire, "changes": {"by": principal.name}, "ledgerEntries": []},
            at=now,
        )
    return saved


def _comparable(wire: list[dict]) -> list[dict]:
    return [
        {key: value for key, value in level.items() if key not in ("updatedBy", "updatedAt")}
        for level in wire
    ]


def level_wire(level: DunningLevel) -> dict:
    return {
        "days": level.days,
        "name": level.name,
        "timeOfDay": level.time_of_day,
        "subject": level.subject,
        "textBody": level.text_body,
        "htmlBody": level.html_body,
        "lateFee": {
            "fixed": from_cents(level.fee_fixed_cents),
            "rate": rate_for_wire(rate_from_units(level.fee_rate_units)),
            "dueDays": level.fee_due_days,
            "since": timestamp(level.fee_since),
        },
        "updatedBy": level.updated_by,
        "updatedAt": timestamp(level.updated_at),
    }


def describe_level(level: DunningLevel) -> str:
    """One line for the CLI and the console."""
    fee = []
    if level.fee_fixed_cents:
        fee.append(f"{from_cents(level.fee_fixed_cents)}")
    if level.fee_rate_units:
        percent = (rate_from_units(level.fee_rate_units) * 100).normalize()
        fee.append(f"{percent:f}% of what is owed")
    fee_text = f"late fee {' + '.join(fee)}, due {level.fee_due_days} days later" if fee else "no late fee"
    template = "its own e-mail" if level.subject else "the store's overdue e-mail"
    return f"+{level.days} days at {level.time_of_day}: {level.name}; {template}; {fee_text}"


def triggers(session: Session, store_id: int) -> list[Trigger]:
    """The levels as "after" reminder triggers."""
    return [
        Trigger(AFTER, level.days, time.fromisoformat(level.time_of_day))
        for level in get_levels(session, store_id)
    ]


def stores_with_levels(session: Session) -> set[int]:
    return set(session.scalars(select(DunningLevel.store_id).distinct()))


# --- late fees ------------------------------------------------------------------------------


def charge_late_fees(session: Session, now: datetime, *, limit: int = FEE_BATCH) -> int:
    """The `dunning-fees` job: charges every late fee whose step has come. Returns how many."""
    charged = 0
    levels = session.scalars(
        select(DunningLevel)
        .where(or_(DunningLevel.fee_fixed_cents > 0, DunningLevel.fee_rate_units > 0))
        .order_by(DunningLevel.store_id, DunningLevel.days)
    ).all()
    for level in levels:
        if charged >= limit:
            break
        charged += _charge_level(session, level, now, limit - charged)
    return charged


def _charge_level(session: Session, level: DunningLevel, now: datetime, limit: int) -> int:
    zone = store_zone(stores.get_config(session, level.store_id))
    # days overdue ≥ level.days ⇔ the due date's local day ≤ today − days.
    today = now.astimezone(zone).date()
    due_before = local_midnight(today - timedelta(days=level.days - 1), zone)
    # A step reached before its fee was set is not charged.
    fee_since = level.fee_since or now
    reached_since = local_midnight(fee_since.astimezone(zone).date() - timedelta(days=level.days), zone)
    fee_of_invoice = aliased(Transaction)
    already = exists().where(
        Transaction.late_fee_invoice_id == Invoice.id, Transaction.late_fee_days == level.days
    )
    candidates = session.execute(
        select(Invoice.id, Invoice.account_id)
        .join(fee_of_invoice, fee_of_invoice.id == Invoice.transaction_id)
        .where(
            Invoice.store_id == level.store_id,
            Invoice.status == OPENED,
            Invoice.due_at < due_before,
            Invoice.due_at >= reached_since,
            fee_of_invoice.late_fee_invoice_id.is_(None),
            ~already,
        )
        .order_by(Invoice.due_at, Invoice.id)
        .limit(limit)
    ).all()
    charged = 0
    for invoice_pk, account_pk in candidates:
        account = session.scalar(
            select(Account).where(Account.id == account_pk).with_for_update(skip_locked=True)
        )
        if account is None:
            continue  # being changed right now: the next run charges it
        invoice = session.get_one(Invoice, invoice_pk, with_for_update=True, populate_existing=True)
        if invoice.status != OPENED or days_overdue(invoice.due_at, now, zone) < level.days:
            continue
        if charge_fee(session, account, invoice, level, now) is not None:
            charged += 1
    return charged


def charge_fee(
    session: Session, account: Account, invoice: Invoice, level: DunningLevel, now: datetime
) -> Invoice | None:
    """Charges the level's fee for `invoice` (the caller holds the account lock). Returns the
    fee's invoice, or None when it was charged already or comes to nothing."""
    cents = fee_cents(level, invoice.value_cents - invoice.paid_cents)
    if cents <= 0:
        return None
    from customer_credit.transactions.service import new_transaction_id

    transaction = Transaction(
        store_id=account.store_id,
        account_id=account.id,
        public_id=new_transaction_id(),
        order_id=invoice.order_id or None,
        settle=True,
        installments=1,
        hold_cents=0,
        original_hold_cents=cents,
        settled_cents=cents,
        refunded_cents=0,
        refund_excess_cents=0,
        interest_cents=0,
        status=SETTLED,
        late_fee_invoice_id=invoice.id,
        late_fee_days=level.days,
        created_at=now,
        updated_at=now,
        settled_at=now,
    )
    try:
        with session.begin_nested():
            session.add(transaction)
            session.flush()
    except IntegrityError:
        return None  # another worker charged this step a moment ago
    schedule = Schedule(name=None, due_days=(level.fee_due_days,), every_days=30, interest_rate_units=0)
    [fee_invoice] = issuing.issue(
        session, transaction, total_cents=cents, installments=1, at=now, schedule=schedule
    )
    fee_invoice.observation = (
        f"Late fee: {level.name}, {level.days} days after the due date of {invoice.friendly_id}"
    )
    ledger.append_entry(
        session,
        account,
        origin=INVOICE,
        value_cents=-cents,
        done_by=ACTOR,
        meta={
            "transactionId": transaction.public_id,
            "orderId": transaction.order_id,
            "numberOfInstallments": 1,
            "lateFee": {"invoiceId": invoice.public_id, "days": level.days, "level": level.name},
        },
        at=now,
    )
    account.updated_at = now
    session.flush()
    events.record(
        session,
        events.INVOICE_LATE_FEE_CHARGED,
        account=account,
        invoice=invoice,
        changes={
            "lateFee": {
                "value": from_cents(cents),
                "days": level.days,
                "level": level.name,
                "invoiceId": fee_invoice.public_id,
                "friendlyId": fee_invoice.friendly_id,
                "transactionId": transaction.public_id,
                "dueDate": timestamp(fee_invoice.due_at),
            }
        },
        at=now,
    )
    return fee_invoice


def fee_charged_cents(session: Session, invoice: Invoice, days: int) -> int:
    """The fee charged for `invoice` at the step of `days` (0 when none)."""
    return (
        session.scalar(
            select(Transaction.settled_cents).where(
                Transaction.late_fee_invoice_id == invoice.id, Transaction.late_fee_days == days
            )
        )
        or 0
    )
