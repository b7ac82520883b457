"""The overdue policy in the console, on SQLite and PostgreSQL: its section of the settings page,
and the override section of the account page with its set and revoke forms (admins only,
CSRF-checked); what a form changes is read back through the API."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from customer_credit.console.formatting import Presentation
from customer_credit.stores.models import StoreConfig
from customer_credit.users import service as users
from tests.console.support import signed_in
from tests.helpers import configure, hold, open_account, purchase

SETTINGS = "/admin/settings"
POLICY_FORM = "/admin/settings/overdue-policy"


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashes():
    """As tests/console does: signing operators in should not spend the run hashing."""
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()


def account_page(public_id: str) -> str:
    return f"/admin/accounts/{public_id}"


def overrides(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/overdueoverrides")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def section(html: str) -> str:
    """The account page's overdue policy section."""
    return html.split('aria-labelledby="overdue-title"')[1].split("</section>")[0]


def form_moment(moment: datetime) -> str:
    """As a browser's datetime-local field sends it (the store's zone is UTC here)."""
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")


# --- the settings page ------------------------------------------------------------------------


def test_an_admin_saves_the_policy_from_the_settings_page(app, store, api):
    console = signed_in(app, store)
    page = console.get(SETTINGS)
    assert page.status_code == 200
    assert 'action="/admin/settings/overdue-policy"' in page.text
    assert '<option value="off" selected>' in page.text and "Never changed" in page.text

    saved = console.post(POLICY_FORM, {"overduePolicyMode": "block", "overduePolicyDays": "10"})

    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings#overdue-policy"
    policy = api.get("/overduepolicy").json()
    assert (policy["mode"], policy["days"]) == ("block", 10)
    assert policy["updatedBy"].startswith("admin-")  # the operator's e-mail
    after = console.get(SETTINGS).text
    assert "Overdue policy saved." in after
    assert '<option value="block" selected>' in after and 'value="10"' in after
    assert f"Last changed by {policy['updatedBy']}" in after


def test_a_bad_policy_form_is_shown_again_with_its_errors(app, store, api):
    console = signed_in(app, store)
    for data, message in (
        ({"overduePolicyMode": "block", "overduePolicyDays": "-1"}, "must be a whole number of days"),
        ({"overduePolicyMode": "block", "overduePolicyDays": "4000"}, "between 0 and 3650"),
        ({"overduePolicyMode": "strict", "overduePolicyDays": "3"}, "must be one of off, flag, block"),
    ):
        refused = console.post(POLICY_FORM, data)
        assert refused.status_code == 400, refused.text
        assert "The overdue policy was not saved" in refused.text
        assert message in refused.text
        assert f'value="{data["overduePolicyDays"]}"' in refused.text  # what was typed
    assert api.get("/overduepolicy").json()["mode"] == "off"


def test_a_viewer_sees_the_policy_but_cannot_change_it(app, store, api):
    viewer = signed_in(app, store, "viewer")
    page = viewer.get(SETTINGS)
    assert page.status_code == 200
    assert 'id="overduePolicyMode"' in page.text and "Save overdue policy" not in page.text

    refused = viewer.post(POLICY_FORM, {"overduePolicyMode": "block", "overduePolicyDays": "1"})

    assert refused.status_code == 403 and "can read but not change anything" in refused.text
    assert api.get("/overduepolicy").json()["mode"] == "off"


def test_the_policy_form_needs_its_csrf_token(app, store, api):
    console = signed_in(app, store)
    refused = console.post(POLICY_FORM, {"overduePolicyMode": "block", "overduePolicyDays": "1"}, token=False)
    assert refused.status_code == 403
    assert api.get("/overduepolicy").json()["mode"] == "off"


# --- the account page -------------------------------------------------------------------------


def test_an_admin_sets_and_revokes_an_override_on_the_account_page(app, store, api, frozen_clock):
    configure(api)
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    assert 'data-override="none"' in section(console.get(account_page(account_id)).text)
    until = (frozen_clock.moment + timedelta(days=3)).replace(second=0, microsecond=0)

    made = console.post(
        account_page(account_id) + "/overdue-override", {"until": form_moment(until), "reason": "pays Friday"}
    )

    assert made.status_code == 303, made.text
    (stored,) = overrides(api, account_id)
    assert stored["status"] == "active" and stored["reason"] == "pays Friday"
    assert stored["until"] == until.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert stored["setBy"].startswith("admin-")
    shown = section(console.get(account_page(account_id)).text)
    assert 'data-override="active"' in shown
    assert Presentation().moment(until) in shown
    assert stored["setBy"] in shown and "pays Friday" in shown
    assert "Revoke override" in shown and "Replace override" in shown

    revoked = console.post(account_page(account_id) + "/overdue-override/revoke")

    assert revoked.status_code == 303, revoked.text
    (ended,) = overrides(api, account_id)
    assert ended["status"] == "revoked" and ended["revokedBy"] == stored["setBy"]
    after = section(console.get(account_page(account_id)).text)
    assert 'data-override="none"' in after and 'data-override-row="revoked"' in after


def test_a_date_alone_lasts_to_the_end_of_that_day_in_the_store_zone(app, store, api, database, frozen_clock):
    configure(api)
    with database.write() as session:
        session.get(StoreConfig, store.id).timezone = "America/Sao_Paulo"
    account_id = open_account(api)["id"]
    frozen_clock.set(datetime(2027, 3, 1, 12, tzinfo=ZoneInfo("UTC")))
    console = signed_in(app, store)

    made = console.post(account_page(account_id) + "/overdue-override", {"until": "2027-03-05"})

    assert made.status_code == 303, made.text
    # Midnight after Mar 5 in São Paulo (UTC−3) is 03:00 UTC on Mar 6.
    assert overrides(api, account_id)[0]["until"] == "2027-03-06T03:00:00.000000Z"
    typed = console.post(account_page(account_id) + "/overdue-override", {"until": "2027-03-05T18:30"})
    assert typed.status_code == 303
    assert overrides(api, account_id)[0]["until"] == "2027-03-05T21:30:00.000000Z"


def test_a_refused_override_form_says_why_next_to_the_form(app, store, api, frozen_clock):
    configure(api)
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    for until, message in (
        (form_moment(frozen_clock.moment - timedelta(days=1)), "must be in the future"),
        (form_moment(frozen_clock.moment + timedelta(days=400)), "at most 365 days ahead"),
        ("someday", "must be a date or a date and time"),
        ("", "is required"),
    ):
        refused = console.post(
            account_page(account_id) + "/overdue-override", {"until": until, "reason": "r"}
        )
        assert refused.status_code == 400, refused.text
        assert message in section(refused.text)
    nothing = console.post(account_page(account_id) + "/overdue-override/revoke")
    assert nothing.status_code == 404 and "no active overdue override" in section(nothing.text)
    assert overrides(api, account_id) == []


def test_a_viewer_sees_the_override_read_only(app, store, api, frozen_clock):
    configure(api)
    account_id = open_account(api)["id"]
    until = frozen_clock.moment + timedelta(days=2)
    assert (
        api.put(
            f"/accounts/{account_id}/overdueoverrides/current",
            json={"until": until.isoformat(), "reason": "ok"},
        ).status_code
        == 200
    )
    viewer = signed_in(app, store, "viewer")

    shown = section(viewer.get(account_page(account_id)).text)

    assert 'data-override="active"' in shown and "<span data-override-reason>ok</span>" in shown
    assert "/overdue-override" not in shown  # no forms
    for path, data in (
        ("/overdue-override", {"until": form_moment(until)}),
        ("/overdue-override/revoke", {}),
    ):
        refused = viewer.post(account_page(account_id) + path, data)
        assert refused.status_code == 403 and "can read but not change anything" in refused.text
    assert overrides(api, account_id)[0]["status"] == "active"


def test_the_override_forms_need_their_csrf_token(app, store, api, frozen_clock):
    configure(api)
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    refused = console.post(
        account_page(account_id) + "/overdue-override",
        {"until": form_moment(frozen_clock.moment + timedelta(days=1))},
        token=False,
    )
    assert refused.status_code == 403
    assert overrides(api, account_id) == []


def test_the_account_page_shows_the_policys_verdict_and_a_flagged_hold(app, store, api, frozen_clock):
    configure(api)
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "100")
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    frozen_clock.set(datetime.fromisoformat(invoice["dueDate"].replace("Z", "+00:00")) + timedelta(days=12))
    assert api.put("/overduepolicy", json={"mode": "flag", "days": 10}).status_code == 200
    flagged = hold(api, account_id, "10").json()["id"]
    console = signed_in(app, store)

    page = console.get(account_page(account_id)).text

    assert 'data-overdue-verdict="flag"' in page and 'data-oldest-overdue="12"' in page
    assert 'data-overdue-flag="12"' in page and flagged in page
    assert api.put("/overduepolicy", json={"mode": "block"}).status_code == 200
    blocked = console.get(account_page(account_id)).text
    assert 'data-overdue-verdict="block"' in blocked and "New purchases on credit are refused" in blocked
