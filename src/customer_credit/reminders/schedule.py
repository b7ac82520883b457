"""When reminders are due, and the job that claims them.

A trigger is (kind, days, timeOfDay) from the store configuration: `days` before ("prior") or
after ("after") the invoice's due date, at timeOfDay in the store's time zone. The claim
inserts one row per (invoice, kind, days, due date) under a unique key, in the job's
transaction, so each reminder is claimed once whatever the number of workers.

Rules where the product page is silent (see docs/events.md):
- a "prior" reminder is only sent before the due moment; an "after" one within
  `reminder_catch_up_days` of its time (a worker down longer skips it);
- when a worker finds several due reminders of the same kind for an invoice (it was down),
  only the latest is sent, the others are logged as skipped;
- a trigger whose time came before the invoice existed is skipped;
- a postponement moves the due date: reminders are keyed by it, so the new date gets its own.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from customer_credit.dates import store_zone
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.reminders.models import AFTER, PENDING, PRIOR, SKIPPED, Reminder
from customer_credit.reminders.templates import Presentation
from customer_credit.stores.models import StoreConfig

BATCH = 500
DEFAULT_CATCH_UP_DAYS = 7


@dataclass(frozen=True)
class Trigger:
    kind: str
    days: int
    time_of_day: time

    @property
    def label(self) -> str:
        return f"{self.days} day{'s' if self.days != 1 else ''} {'before' if self.kind == PRIOR else 'after'}"


def triggers_of(config: StoreConfig) -> list[Trigger]:
    notifications = config.notifications or {}
    found: dict[tuple[str, int], Trigger] = {}
    for kind, key in ((PRIOR, "daysPrior"), (AFTER, "daysAfter")):
        for item in notifications.get(key) or []:
            try:
                days = int(item["days"])
                moment = time.fromisoformat(str(item["timeOfDay"]))
            except (KeyError, TypeError, ValueError):
                continue
            found.setdefault((kind, days), Trigger(kind, days, moment))
    return list(found.values())


def store_triggers(session: Session, config: StoreConfig) -> list[Trigger]:
    """The store's notification schedule and its dunning levels (credit_control.dunning); where
    both name a day after the due date, the schedule's time of day holds."""
    from customer_credit.credit_control import dunning  # it builds on this module

    own = triggers_of(config)
    taken = {(trigger.kind, trigger.days) for trigger in own}
    return own + [
        trigger
        for trigger in dunning.triggers(session, config.store_id)
        if (AFTER, trigger.days) not in taken
    ]


def presentation_of(config: StoreConfig) -> Presentation:
    return Presentation(
        locale=getattr(config, "locale", None) or "en_US",
        currency=getattr(config, "currency", None) or "USD",
        timezone=getattr(config, "timezone", None) or "UTC",
    )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def send_moment(due_at: datetime, trigger: Trigger, zone: ZoneInfo) -> datetime:
    due_day = due_at.astimezone(zone).date()
    shift = timedelta(days=trigger.days)
    day = due_day - shift if trigger.kind == PRIOR else due_day + shift
    return datetime.combine(day, trigger.time_of_day, tzinfo=zone).astimezone(UTC)


def is_later(a: Trigger, b: Trigger) -> bool:
    """Whether trigger a fires after trigger b for the same due date (same kind)."""
    return a.days < b.days if a.kind == PRIOR else a.days > b.days


def due_window(
    trigger: Trigger, now: datetime, zone: ZoneInfo, catch_up_days: int
) -> tuple[datetime, datetime]:
    """The due_at range [low, high) of invoices whose reminder for this trigger is due now."""
    today = now.astimezone(zone).date()
    last_day = today
    if datetime.combine(today, trigger.time_of_day, tzinfo=zone) > now:
        last_day = today - timedelta(days=1)  # today's send time has not come yet
    shift = timedelta(days=trigger.days)
    if trigger.kind == PRIOR:
        return now, local_midnight(last_day + shift + timedelta(days=1), zone)
    first_day = (now - timedelta(days=catch_up_days)).astimezone(zone).date()
    return local_midnight(first_day - shift, zone), local_midnight(last_day - shift + timedelta(days=1), zone)


@dataclass
class Candidate:
    invoice: Invoice
    trigger: Trigger
    moment: datetime
    too_late: bool = False


def _candidates(
    session: Session, store_id: int, trigger: Trigger, now: datetime, zone: ZoneInfo, catch_up_days: int
) -> list[Candidate]:
    low, high = due_window(trigger, now, zone, catch_up_days)
    claimed = exists().where(
        Reminder.invoice_id == Invoice.id,
        Reminder.kind == trigger.kind,
        Reminder.days == trigger.days,
        Reminder.due_at == Invoice.due_at,
    )
    invoices = session.scalars(
        select(Invoice)
        .where(
            Invoice.store_id == store_id,
            Invoice.status == OPENED,
            Invoice.due_at >= low,
            Invoice.due_at < high,
            ~claimed,
        )
        .order_by(Invoice.due_at, Invoice.id)
        .limit(BATCH)
    ).all()
    found = []
    for invoice in invoices:
        moment = send_moment(invoice.due_at, trigger, zone)
        if moment > now:
            continue
        if trigger.kind == PRIOR and now >= invoice.due_at:
            continue
        late = trigger.kind == AFTER and moment < now - timedelta(days=catch_up_days)
        found.append(Candidate(invoice, trigger, moment, too_late=late))
    return found


def _lock_config(session: Session, store_id: int) -> StoreConfig | None:
    return session.scalar(
        select(StoreConfig).where(StoreConfig.store_id == store_id).with_for_update(skip_locked=True)
    )


def schedule_due(session: Session, now: datetime, *, catch_up_days: int = DEFAULT_CATCH_UP_DAYS) -> int:
    """Claims every reminder whose time has come: inserts its row (pending, or skipped with the
    reason). Returns the number of rows written."""
    from customer_credit.credit_control import dunning  # its levels are triggers too

    written = 0
    configs = session.execute(select(StoreConfig.store_id, StoreConfig.notifications)).all()
    with_levels = dunning.stores_with_levels(session)
    for store_id, notifications in configs:
        scheduled = notifications and (notifications.get("daysPrior") or notifications.get("daysAfter"))
        if not scheduled and store_id not in with_levels:
            continue
        config = _lock_config(session, store_id)
        if config is None:
            continue  # another worker is on this store (or its configuration is being saved)
        written += _claim(session, due_candidates(session, config, now, catch_up_days), now)
    return written


def due_candidates(
    session: Session, config: StoreConfig, now: datetime, catch_up_days: int
) -> list[Candidate]:
    """The store's reminders whose time has come at `now` and that are not claimed yet."""
    zone = store_zone(config)
    candidates: list[Candidate] = []
    for trigger in store_triggers(session, config):
        candidates.extend(_candidates(session, config.store_id, trigger, now, zone, catch_up_days))
    return candidates


def _claim(session: Session, candidates: list[Candidate], now: datetime) -> int:
    written = 0
    for candidate, reason in claim_decisions(session, candidates):
        invoice = candidate.invoice
        session.add(
            Reminder(
                store_id=invoice.store_id,
                account_id=invoice.account_id,
                invoice_id=invoice.id,
                kind=candidate.trigger.kind,
                days=candidate.trigger.days,
                due_at=invoice.due_at,
                scheduled_at=candidate.moment,
                status=SKIPPED if reason else PENDING,
                attempts=0,
                next_attempt_at=None if reason else now,
                last_error=reason,
                recipients=[],
                created_at=now,
                updated_at=now,
            )
        )
        written += 1
    session.flush()
    return written


def claim_decisions(session: Session, candidates: list[Candidate]) -> list[tuple[Candidate, str | None]]:
    """Each candidate with the reason it would be skipped, or None when it would be sent."""
    decisions: list[tuple[Candidate, str | None]] = []
    by_group: dict[tuple[int, str], list[Candidate]] = {}
    for candidate in candidates:
        by_group.setdefault((candidate.invoice.id, candidate.trigger.kind), []).append(candidate)
    for (invoice_id, kind), group in by_group.items():
        invoice = group[0].invoice
        existing_days = session.scalars(
            select(Reminder.days).where(
                Reminder.invoice_id == invoice_id, Reminder.kind == kind, Reminder.due_at == invoice.due_at
            )
        ).all()
        group.sort(key=lambda c: c.moment)
        latest = group[-1]
        for candidate in group:
            reason = None
            if candidate.moment < invoice.created_at:
                reason = "its time came before the invoice was issued"
            elif candidate.too_late:
                reason = "missed by more than the catch-up window (worker down)"
            elif candidate is not latest or any(
                is_later(Trigger(kind, days, candidate.trigger.time_of_day), candidate.trigger)
                for days in existing_days
            ):
                reason = "superseded by a later reminder of the same invoice"
            decisions.append((candidate, reason))
    return decisions
