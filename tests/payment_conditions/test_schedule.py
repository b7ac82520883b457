"""The schedule rules on their own (service layer): due offsets, interest per installment,
the "30/60/90" shorthand, and which schedule a settlement gets."""

import pytest

from customer_credit.errors import InvalidInput, NotFound
from customer_credit.invoices.issuing import plan_interest_cents
from customer_credit.payment_conditions import service
from customer_credit.payment_conditions.service import DEFAULT_SCHEDULE, Schedule


def schedule(due_days, every_days, rate_units=0) -> Schedule:
    return Schedule(name="s", due_days=tuple(due_days), every_days=every_days, interest_rate_units=rate_units)


def test_the_default_schedule_is_thirty_day_steps_without_interest():
    assert [DEFAULT_SCHEDULE.due_offset_days(k) for k in range(1, 6)] == [30, 60, 90, 120, 150]
    assert DEFAULT_SCHEDULE.due_offset_days(99) == 2970
    assert DEFAULT_SCHEDULE.interest_cents(10_000, 7) == 0
    assert DEFAULT_SCHEDULE.name is None


def test_listed_days_then_every_days_after_the_last():
    terms = schedule([30, 60, 90], 30)
    assert [terms.due_offset_days(k) for k in range(1, 6)] == [30, 60, 90, 120, 150]
    after_45 = schedule([45], 15)
    assert [after_45.due_offset_days(k) for k in range(1, 5)] == [45, 60, 75, 90]
    uneven = schedule([10, 40], 5)
    assert [uneven.due_offset_days(k) for k in range(1, 5)] == [10, 40, 45, 50]


def test_installments_are_numbered_from_one():
    with pytest.raises(ValueError):
        DEFAULT_SCHEDULE.due_offset_days(0)
    with pytest.raises(ValueError):
        DEFAULT_SCHEDULE.interest_cents(100, 0)


def test_interest_is_k_times_the_rate_of_the_part_rounded_half_to_even():
    two_percent = schedule([30], 30, rate_units=200)
    assert two_percent.interest_cents(10_000, 1) == 200
    assert two_percent.interest_cents(10_000, 3) == 600
    # 25 cents × 2% = 0.5 cent → 0 (even); 75 × 2% = 1.5 → 2 (even).
    assert two_percent.interest_cents(25, 1) == 0
    assert two_percent.interest_cents(75, 1) == 2
    # 3333 × 1% × 3 = 99.99 → 100.
    assert schedule([30], 30, rate_units=100).interest_cents(3333, 3) == 100


def test_plan_interest_adds_up_each_installments_interest():
    one_percent = schedule([30, 60, 90], 30, rate_units=100)
    # 100.00 in 3: 33.34, 33.33, 33.33 → 0.3334 → 0.33, 0.6666 → 0.67, 0.9999 → 1.00.
    assert plan_interest_cents(10_000, 3, one_percent) == 200
    assert plan_interest_cents(10_000, 3, DEFAULT_SCHEDULE) == 0
    # Parts of 0 cents issue no invoice and bear nothing.
    assert plan_interest_cents(2, 5, one_percent) == 0


@pytest.mark.parametrize(
    ("text", "days"),
    [("30/60/90", [30, 60, 90]), ("45", [45]), (" 28 / 56 ", [28, 56]), ("1/3650", [1, 3650])],
)
def test_the_shorthand_gives_the_due_days(text, days):
    assert service.parse_terms(text) == days


@pytest.mark.parametrize(
    "text", ["", "30//60", "30,60", "30/", "/30", "60/30", "30/30", "0/30", "30/3651", "a/b", "-30"]
)
def test_bad_shorthand_is_refused_naming_due_days(text):
    with pytest.raises(InvalidInput) as refused:
        service.parse_terms(text)
    assert refused.value.details[0]["field"] == "dueDays"


# --- against a database --------------------------------------------------------------------


def test_schedule_for_a_name_the_default_or_the_built_in_rule(database, store):
    with database.write() as session:
        assert service.schedule_for(session, store.id, None) == DEFAULT_SCHEDULE
        service.put_condition(session, store.id, "30-60-90", due_days=service.parse_terms("30/60/90"))
        service.put_condition(
            session, store.id, "after 45", due_days=[45], every_days=15, interest_rate="0.01", is_default=True
        )
    with database.read() as session:
        assert service.schedule_for(session, store.id, "30-60-90") == Schedule(
            name="30-60-90", due_days=(30, 60, 90), every_days=30, interest_rate_units=0
        )
        assert service.schedule_for(session, store.id, None) == Schedule(
            name="after 45", due_days=(45,), every_days=15, interest_rate_units=100
        )
        with pytest.raises(NotFound) as missing:
            service.schedule_for(session, store.id, "nope")
        assert missing.value.code == "PaymentConditionNotFound"
        # A deleted condition behind a settled transaction falls back to the built-in rule.
        assert service.stored_schedule(session, store.id, "nope") == DEFAULT_SCHEDULE
        assert service.stored_schedule(session, store.id, None) == DEFAULT_SCHEDULE
        assert service.stored_schedule(session, store.id, "after 45").every_days == 15


def test_a_name_with_a_slash_is_refused_by_the_service(database, store):
    # The API cannot route such a name; the CLI and the console must not store one either.
    with database.write() as session, pytest.raises(InvalidInput) as refused:
        service.put_condition(session, store.id, "30/60", due_days=[30, 60])
    assert refused.value.details == [{"field": "name", "message": "must not contain '/'"}]


@pytest.mark.parametrize("name", ["", ".", "..", "tab\there", "x" * 101])
def test_bad_names_are_refused_by_the_service(database, store, name):
    with database.write() as session, pytest.raises(InvalidInput) as refused:
        service.put_condition(session, store.id, name, due_days=[30])
    assert refused.value.details[0]["field"] == "name"


def test_delete_of_an_absent_condition_is_a_404(database, store):
    with database.write() as session, pytest.raises(NotFound) as missing:
        service.delete_condition(session, store.id, "nope")
    assert missing.value.code == "PaymentConditionNotFound"
