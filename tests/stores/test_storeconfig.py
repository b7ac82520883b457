"""Store configuration: defaults before the first PUT, every required field, the validation
rules of domain.md, and the whole configuration returned and kept."""

import json
from decimal import Decimal

import pytest

from tests.contract import assert_matches, contract, is_error_shape
from tests.helpers import FULL_CONFIG, open_account

PATH = "/api/creditcontrol/storeconfig"

GUIDE_CONFIG = {
    "dailyInterestRate": 0.01,
    "invoicePostponementLimit": 2,
    "taxRate": 0.4,
    "maxPostponementDays": 3,
    "defaultCreditValue": 150.0,
    "maxPreAuthorizationGrowthRate": 0.1,
    "myCreditsEnabled": True,
    "toleranceEnabled": True,
    "automaticCheckingAccountCreationEnabled": True,
    "postponementEnabled": True,
    "notificationsSettings": {
        "daysPrior": [{"days": 1, "timeOfDay": "16:00:00"}],
        "daysAfter": [{"days": 0, "timeOfDay": "12:00:00"}],
    },
}


def exact(response):
    return json.loads(response.text, parse_float=Decimal)


def required_fields() -> list[str]:
    schema = contract()["paths"][PATH]["put"]["requestBody"]["content"]["application/json"]["schema"]
    return list(schema["required"])


def put(api, body):
    return api.put("/storeconfig", json=body)


def assert_bad(response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert is_error_shape(response)
    fields = [detail.get("field", "") for detail in response.json()["error"]["details"]]
    assert any(name == field or name.startswith(field + ".") for name in fields), (field, fields)


def assert_same_config(sent: dict, got: dict) -> None:
    for name, value in sent.items():
        if name == "notificationsSettings":
            continue
        if isinstance(value, bool):
            assert got[name] is value, name
        else:
            assert Decimal(str(got[name])) == Decimal(str(value)), name


# --- retrieve ------------------------------------------------------------------------------


def test_defaults_when_never_set(api):
    response = api.get("/storeconfig")
    assert_matches("get", PATH, response)
    body = exact(response)
    for name in (
        "dailyInterestRate",
        "invoicePostponementLimit",
        "taxRate",
        "maxPostponementDays",
        "defaultCreditValue",
        "maxPreAuthorizationGrowthRate",
    ):
        assert body[name] == 0, name
    for name in (
        "myCreditsEnabled",
        "toleranceEnabled",
        "automaticCheckingAccountCreationEnabled",
        "postponementEnabled",
    ):
        assert body[name] is False, name
    assert body["notificationsSettings"] == {"daysPrior": [], "daysAfter": []}


def test_reading_defaults_does_not_store_them(api, database):
    from customer_credit.stores.models import StoreConfig

    assert api.get("/storeconfig").status_code == 200
    with database.read() as session:
        assert session.get(StoreConfig, api.store.id) is None


# --- create or change ----------------------------------------------------------------------


def test_put_returns_the_whole_configuration(api):
    response = put(api, GUIDE_CONFIG)
    assert_matches("put", PATH, response)
    body = exact(response)
    assert_same_config(GUIDE_CONFIG, body)
    assert body["notificationsSettings"] == GUIDE_CONFIG["notificationsSettings"]

    again = api.get("/storeconfig")
    assert_matches("get", PATH, again)
    assert exact(again) == body


def test_put_changes_an_existing_configuration(api):
    assert put(api, GUIDE_CONFIG).status_code == 200
    changed = {
        **FULL_CONFIG,
        "defaultCreditValue": "99.99",
        "taxRate": "0.0725",
        "postponementEnabled": True,
        "notificationsSettings": {
            "daysPrior": [
                {"days": 5, "timeOfDay": "12:00:00"},
                {"days": 1, "timeOfDay": "08:30:00"},
                {"days": 0, "timeOfDay": "23:59:59"},
            ],
            "daysAfter": [{"days": 3, "timeOfDay": "00:00:00"}],
        },
    }
    response = put(api, changed)
    assert_matches("put", PATH, response)
    body = exact(response)
    assert body["defaultCreditValue"] == Decimal("99.99")
    assert body["taxRate"] == Decimal("0.0725")
    assert body["dailyInterestRate"] == 0
    assert body["myCreditsEnabled"] is False
    assert body["postponementEnabled"] is True
    assert body["notificationsSettings"] == changed["notificationsSettings"]
    assert exact(api.get("/storeconfig")) == body


def test_numeric_strings_are_accepted(api):
    body = {
        **FULL_CONFIG,
        "dailyInterestRate": "0.0033",
        "invoicePostponementLimit": "4",
        "taxRate": "1",
        "maxPostponementDays": "30",
        "defaultCreditValue": "2000.50",
        "maxPreAuthorizationGrowthRate": "0.15",
    }
    response = put(api, body)
    assert_matches("put", PATH, response)
    stored = exact(response)
    assert stored["dailyInterestRate"] == Decimal("0.0033")
    assert stored["invoicePostponementLimit"] == 4
    assert stored["taxRate"] == 1
    assert stored["maxPostponementDays"] == 30
    assert stored["defaultCreditValue"] == Decimal("2000.50")
    assert stored["maxPreAuthorizationGrowthRate"] == Decimal("0.15")


def test_counts_come_back_as_whole_numbers(api):
    response = put(api, {**FULL_CONFIG, "invoicePostponementLimit": 2.0, "maxPostponementDays": 7})
    assert_matches("put", PATH, response)
    body = exact(response)  # JSON integers parse as int, anything with a point as Decimal
    assert type(body["invoicePostponementLimit"]) is int and body["invoicePostponementLimit"] == 2
    assert type(body["maxPostponementDays"]) is int and body["maxPostponementDays"] == 7


def test_rate_bounds_zero_and_one_are_allowed(api):
    for value in (0, 1):
        body = {
            **FULL_CONFIG,
            "dailyInterestRate": value,
            "taxRate": value,
            "maxPreAuthorizationGrowthRate": value,
        }
        response = put(api, body)
        assert_matches("put", PATH, response)
        assert exact(response)["taxRate"] == value


def test_default_credit_value_applies_to_new_accounts(api):
    assert put(api, {**FULL_CONFIG, "defaultCreditValue": "321.09"}).status_code == 200
    response = api.post(
        "/accounts", json={"document": "42", "documentType": "Other", "email": "d@example.com"}
    )
    assert response.status_code == 200, response.text
    assert exact(response)["creditLimit"] == Decimal("321.09")
    # An explicit limit still wins.
    explicit = open_account(api, credit_limit="5")
    assert Decimal(str(explicit["creditLimit"])) == Decimal("5")


def test_refused_put_keeps_the_previous_configuration(api):
    assert put(api, GUIDE_CONFIG).status_code == 200
    before = exact(api.get("/storeconfig"))
    assert put(api, {**GUIDE_CONFIG, "taxRate": 2}).status_code == 400
    assert exact(api.get("/storeconfig")) == before


# --- validation ----------------------------------------------------------------------------


def test_contract_requires_the_ten_fields():
    assert sorted(required_fields()) == sorted(FULL_CONFIG)


@pytest.mark.parametrize("field", required_fields())
def test_every_required_field(api, field):
    body = dict(GUIDE_CONFIG)
    del body[field]
    assert_bad(put(api, body), field)
    assert exact(api.get("/storeconfig"))["myCreditsEnabled"] is False


def test_notifications_are_optional(api):
    response = put(api, FULL_CONFIG)
    assert_matches("put", PATH, response)
    assert exact(response)["notificationsSettings"] == {"daysPrior": [], "daysAfter": []}


@pytest.mark.parametrize("field", ["dailyInterestRate", "taxRate", "maxPreAuthorizationGrowthRate"])
@pytest.mark.parametrize("value", [-0.01, "1.01", 2, "-1", "0.00001", "NaN"])
def test_rates_between_zero_and_one(api, field, value):
    assert_bad(put(api, {**FULL_CONFIG, field: value}), field)


@pytest.mark.parametrize("field", ["invoicePostponementLimit", "maxPostponementDays"])
@pytest.mark.parametrize("value", [-1, "-3", 1.5, "2.5", "many", True])
def test_counts_whole_and_not_negative(api, field, value):
    assert_bad(put(api, {**FULL_CONFIG, field: value}), field)


@pytest.mark.parametrize("value", [-1, "-0.01", "10.001", "Infinity", True])
def test_default_credit_value_is_an_amount(api, value):
    assert_bad(put(api, {**FULL_CONFIG, "defaultCreditValue": value}), "defaultCreditValue")


@pytest.mark.parametrize("side", ["daysPrior", "daysAfter"])
def test_at_most_three_triggers(api, side):
    triggers = [{"days": day, "timeOfDay": "12:00:00"} for day in range(4)]
    body = {**FULL_CONFIG, "notificationsSettings": {side: triggers}}
    assert_bad(put(api, body), f"notificationsSettings.{side}")
    body["notificationsSettings"][side] = triggers[:3]
    response = put(api, body)
    assert_matches("put", PATH, response)
    assert response.json()["notificationsSettings"][side] == triggers[:3]


@pytest.mark.parametrize(
    "time_of_day", ["24:00:00", "12:00", "12:60:00", "12:00:61", "noon", "1:00:00", "", 1200]
)
def test_time_of_day_is_hh_mm_ss(api, time_of_day):
    body = {**FULL_CONFIG, "notificationsSettings": {"daysPrior": [{"days": 1, "timeOfDay": time_of_day}]}}
    assert_bad(put(api, body), "notificationsSettings.daysPrior")


@pytest.mark.parametrize("days", [-1, 1.5, "x", None])
def test_trigger_days_whole_and_not_negative(api, days):
    body = {**FULL_CONFIG, "notificationsSettings": {"daysAfter": [{"days": days, "timeOfDay": "10:00:00"}]}}
    assert_bad(put(api, body), "notificationsSettings.daysAfter")


@pytest.mark.parametrize(
    "trigger",
    [{"days": 1}, {"timeOfDay": "10:00:00"}, {"days": 1, "timeOfDay": "10:00:00", "channel": "sms"}],
)
def test_trigger_fields(api, trigger):
    body = {**FULL_CONFIG, "notificationsSettings": {"daysPrior": [trigger]}}
    assert_bad(put(api, body), "notificationsSettings.daysPrior")


def test_booleans_must_be_booleans(api):
    for value in ("false", 0, None):
        assert_bad(put(api, {**FULL_CONFIG, "toleranceEnabled": value}), "toleranceEnabled")
