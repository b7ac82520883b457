"""Payment conditions through HTTP: create, replace, list, read, delete, the default mark,
permissions, tenancy, and every bad input answered with a 400 that names its field."""

import json
from decimal import Decimal

import pytest

from customer_credit.auth.resources import CREATE_STATEMENTS, EDIT_CONFIGURATION, READ_CONFIGURATION
from tests.payment_conditions.support import (
    CONDITIONS,
    condition_path,
    make_condition,
    put_condition,
    refused,
)


def exact(response) -> dict:
    return json.loads(response.text, parse_float=Decimal)


def test_a_store_starts_with_no_conditions(api):
    response = api.get(CONDITIONS)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": []}


def test_create_read_replace_list_and_delete(api):
    created = make_condition(api, "30-60-90", [30, 60, 90], interestRatePerInstallment="0.0125")
    assert created == {
        "name": "30-60-90",
        "dueDays": [30, 60, 90],
        "everyDays": 30,
        "interestRatePerInstallment": 0.0125,
        "default": False,
    }
    assert exact(api.get(condition_path("30-60-90")))["interestRatePerInstallment"] == Decimal("0.0125")

    replaced = make_condition(api, "30-60-90", [28, 56], everyDays=7, default=True)
    assert replaced == {
        "name": "30-60-90",
        "dueDays": [28, 56],
        "everyDays": 7,
        "interestRatePerInstallment": 0,
        "default": True,
    }
    assert api.get(condition_path("30-60-90")).json() == replaced

    make_condition(api, "a vista", [1])
    assert [c["name"] for c in api.get(CONDITIONS).json()["data"]] == ["30-60-90", "a vista"]

    deleted = api.delete(condition_path("30-60-90"))
    assert deleted.status_code == 200, deleted.text
    refused(api.get(condition_path("30-60-90")), 404, "PaymentConditionNotFound")
    refused(api.delete(condition_path("30-60-90")), 404, "PaymentConditionNotFound")
    assert [c["name"] for c in api.get(CONDITIONS).json()["data"]] == ["a vista"]


def test_unknown_condition_is_a_404_with_its_code(api):
    error = refused(api.get(condition_path("nope")), 404, "PaymentConditionNotFound")
    assert "nope" in error["message"]


@pytest.mark.parametrize(
    ("due_days", "every_days"),
    [([30, 60, 90], 30), ([45], 45), ([10, 25], 15), ([7, 14, 30], 16)],
)
def test_every_days_defaults_to_the_last_gap_or_the_only_day(api, due_days, every_days):
    assert make_condition(api, "terms", due_days)["everyDays"] == every_days


def test_every_days_given_is_kept(api):
    assert make_condition(api, "45+15", [45], everyDays=15)["everyDays"] == 15


def test_numbers_as_strings_are_read_like_the_rest_of_the_api(api):
    body = make_condition(api, "terms", ["30", 60.0], everyDays="10", interestRatePerInstallment="0.5")
    assert (body["dueDays"], body["everyDays"], body["interestRatePerInstallment"]) == ([30, 60], 10, 0.5)


def test_marking_one_default_unmarks_the_others(api):
    make_condition(api, "first", [30], default=True)
    make_condition(api, "second", [15, 30], default=True)
    listed = {c["name"]: c["default"] for c in api.get(CONDITIONS).json()["data"]}
    assert listed == {"first": False, "second": True}
    # Replacing the default without the mark leaves the store with none.
    make_condition(api, "second", [15, 30])
    assert not any(c["default"] for c in api.get(CONDITIONS).json()["data"])


def test_the_body_may_name_the_condition_only_as_the_path_does(api):
    assert api.put(condition_path("terms"), json={"name": "terms", "dueDays": [30]}).status_code == 200
    error = refused(api.put(condition_path("terms"), json={"name": "other", "dueDays": [30]}), 400)
    assert error["details"][0]["field"] == "name"
    assert api.get(condition_path("other")).status_code == 404


def test_names_with_spaces_and_accents_travel_in_the_path(api):
    name = "à vista em 30 dias"
    assert make_condition(api, name, [30])["name"] == name
    assert api.get(condition_path(name)).json()["name"] == name
    assert api.delete(condition_path(name)).status_code == 200


def test_conditions_are_per_store(api, other_api):
    make_condition(api, "terms", [30, 60])
    assert other_api.get(CONDITIONS).json() == {"data": []}
    refused(other_api.get(condition_path("terms")), 404, "PaymentConditionNotFound")
    refused(other_api.delete(condition_path("terms")), 404, "PaymentConditionNotFound")
    # The same name in another store is another condition.
    make_condition(other_api, "terms", [10], default=True)
    assert api.get(condition_path("terms")).json()["dueDays"] == [30, 60]
    assert api.get(condition_path("terms")).json()["default"] is False


def test_reading_needs_read_configuration_and_writing_edit_configuration(store):
    admin = store.api()
    make_condition(admin, "terms", [30])
    reader = store.api(resources=(READ_CONFIGURATION,))
    editor = store.api(resources=(EDIT_CONFIGURATION,))
    outsider = store.api(resources=(CREATE_STATEMENTS,))

    assert reader.get(CONDITIONS).status_code == 200
    assert reader.get(condition_path("terms")).status_code == 200
    refused(put_condition(reader, "terms", [60]), 403)
    refused(reader.delete(condition_path("terms")), 403)

    assert put_condition(editor, "other", [60]).status_code == 200
    refused(editor.get(CONDITIONS), 403)

    for response in (
        outsider.get(CONDITIONS),
        outsider.get(condition_path("terms")),
        put_condition(outsider, "terms", [60]),
        outsider.delete(condition_path("terms")),
    ):
        refused(response, 403)
    assert admin.get(condition_path("terms")).json()["dueDays"] == [30]
    assert editor.delete(condition_path("other")).status_code == 200


def test_credentials_are_required(http):
    response = http.get(f"/api/creditcontrol{CONDITIONS}")
    refused(response, 401)


# --- bad input: each a 400 naming its field, and nothing stored ----------------------------

BAD_BODIES = [
    ({"dueDays": []}, "dueDays"),
    ({"dueDays": list(range(1, 26))}, "dueDays"),
    ({"dueDays": [0]}, "dueDays"),
    ({"dueDays": [-30]}, "dueDays"),
    ({"dueDays": [3651]}, "dueDays"),
    ({"dueDays": [30, 30]}, "dueDays"),
    ({"dueDays": [60, 30]}, "dueDays"),
    ({"dueDays": [30.5]}, "dueDays.0"),
    ({"dueDays": ["thirty"]}, "dueDays.0"),
    ({"dueDays": [True]}, "dueDays.0"),
    ({"dueDays": [None]}, "dueDays.0"),
    ({"dueDays": "30/60/90"}, "dueDays"),
    ({"dueDays": 30}, "dueDays"),
    ({}, "dueDays"),
    ({"dueDays": [30], "everyDays": 0}, "everyDays"),
    ({"dueDays": [30], "everyDays": 3651}, "everyDays"),
    ({"dueDays": [30], "everyDays": 1.5}, "everyDays"),
    ({"dueDays": [30], "everyDays": "often"}, "everyDays"),
    ({"dueDays": [30], "interestRatePerInstallment": "-0.01"}, "interestRatePerInstallment"),
    ({"dueDays": [30], "interestRatePerInstallment": "1.0001"}, "interestRatePerInstallment"),
    ({"dueDays": [30], "interestRatePerInstallment": "0.00001"}, "interestRatePerInstallment"),
    ({"dueDays": [30], "interestRatePerInstallment": "NaN"}, "interestRatePerInstallment"),
    ({"dueDays": [30], "interestRatePerInstallment": None}, "interestRatePerInstallment"),
    ({"dueDays": [30], "interestRatePerInstallment": True}, "interestRatePerInstallment"),
    ({"dueDays": [30], "default": "yes"}, "default"),
    ({"dueDays": [30], "default": 1}, "default"),
    ({"dueDays": [30], "name": 5}, "name"),
    ({"dueDays": [30], "installments": 3}, "installments"),
]


@pytest.mark.parametrize(
    ("body", "field"), BAD_BODIES, ids=[f"{field}-{i}" for i, (_, field) in enumerate(BAD_BODIES)]
)
def test_bad_bodies_are_refused_naming_the_field(api, body, field):
    error = refused(api.put(condition_path("terms"), json=body), 400)
    assert field in [detail["field"] for detail in error["details"]], error
    assert api.get(CONDITIONS).json() == {"data": []}


BAD_NAMES = [
    ("x" * 101, "1 to 100 characters"),
    ("zero\u200bwidth", "printable"),
    ("no\u00a0break", "printable"),
    (" padded", "space"),
    ("padded ", "space"),
]


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES, ids=[reason for _, reason in BAD_NAMES])
def test_bad_names_are_refused(api, name, reason):
    error = refused(put_condition(api, name, [30]), 400)
    assert [detail["field"] for detail in error["details"]] == ["name"]
    assert reason in error["details"][0]["message"]
    assert api.get(CONDITIONS).json() == {"data": []}


@pytest.mark.parametrize("name", ["tab\there", "bell\x07", "new\nline"])
def test_control_characters_never_reach_the_service(api, name):
    refused(put_condition(api, name, [30]), 400, "InvalidPath")
    assert api.get(CONDITIONS).json() == {"data": []}


def test_a_slash_cannot_be_part_of_a_name(api):
    # Encoded, it is still a path separator once decoded: no route takes it.
    refused(put_condition(api, "30/60", [30, 60]), 404)
    assert api.get(CONDITIONS).json() == {"data": []}


def test_a_name_of_100_characters_is_accepted(api):
    assert make_condition(api, "n" * 100, [30])["name"] == "n" * 100


def test_malformed_json_is_refused(api):
    response = api.put(
        condition_path("terms"), content=b'{"dueDays": [30,', headers={"Content-Type": "application/json"}
    )
    refused(response, 400, "MalformedJson")
