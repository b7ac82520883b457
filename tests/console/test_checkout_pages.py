"""The connector in the console, on SQLite and PostgreSQL: the "Awaiting approval" queue and its
decisions (checked through the extension API afterwards), and the connector's settings form."""

from datetime import timedelta

from sqlalchemy import select

from customer_credit.checkout.models import CheckoutSettings
from customer_credit.console.formatting import Presentation
from tests.checkout.support import gateway_for, payment_body
from tests.console.support import signed_in
from tests.helpers import account, dec, open_account

QUEUE = "/admin/checkout"


def enable_manual_review(api) -> None:
    response = api.put("/checkout/settings", json={"manualReviewEnabled": True})
    assert response.status_code == 200, response.text
    assert response.json()["manualReviewEnabled"] is True


def undefined_payment(store, api, *, limit="50", value="100.00", installments=3) -> tuple[str, str]:
    """A purchase over the buyer's credit that waits for an operator: (paymentId, accountId)."""
    enable_manual_review(api)
    opened = open_account(api, credit_limit=limit)
    body = payment_body(
        value=value, installments=installments, document=opened["document"], email=opened["email"]
    )
    answer = gateway_for(store).pay(body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "undefined", answer.text
    return body["paymentId"], opened["id"]


def payment(api, payment_id: str) -> dict:
    response = api.get(f"/checkout/payments/{payment_id}")
    assert response.status_code == 200, response.text
    return response.json()


def queue_part(html: str) -> str:
    """The queue, without the table of recently decided payments below it."""
    return html.split('id="recent-title"')[0]


def recent_part(html: str) -> str:
    return html.split('id="recent-title"')[1]


def action(payment_id: str, name: str) -> str:
    return f"{QUEUE}/payments/{payment_id}/{name}"


def test_the_queue_lists_a_payment_and_approving_once_takes_it_out(app, store, api, frozen_clock):
    payment_id, account_id = undefined_payment(store, api)
    console = signed_in(app, store)

    page = console.get(QUEUE)
    assert page.status_code == 200, page.text
    queue = queue_part(page.text)
    assert f'data-payment="{payment_id}"' in queue
    assert f'href="/admin/accounts/{account_id}"' in queue
    shown = payment(api, payment_id)
    assert shown["orderId"] in queue and shown["reference"] in queue
    assert "$100.00 in 3 installments" in queue
    assert "$50.00 of a $50.00 limit" in queue  # the account's available credit
    deadline = frozen_clock.moment + timedelta(days=2)  # the default review window
    assert Presentation().moment(deadline) in queue
    # The raise-limit form is prefilled with the limit at which the purchase fits.
    assert 'name="creditLimit" type="text" value="100.00"' in queue
    assert 'data-awaiting="1"' in page.text  # the navigation's count

    approved = console.post(action(payment_id, "approve"))
    assert approved.status_code == 303 and approved.headers["location"] == QUEUE
    after = console.get(QUEUE)
    assert f"Payment {payment_id} approved beyond the available credit." in after.text
    assert f'data-payment="{payment_id}"' not in queue_part(after.text)
    assert "Nothing is awaiting approval." in after.text
    assert "data-awaiting" not in after.text
    recent = recent_part(after.text)
    assert f'data-payment="{payment_id}"' in recent and "approved" in recent and "pending" in recent

    decided = payment(api, payment_id)
    assert decided["status"] == "approved"
    assert decided["decidedBy"].startswith("admin-")  # the operator signed in to the console
    assert decided["callback"]["state"] == "pending"  # VTEX is told through its callbackUrl
    figures = account(api, account_id)
    assert dec(figures["creditLimit"]) == dec("50")  # approved once: the limit stays
    assert dec(figures["preAuthorizedCredit"]) == dec("100")


def test_approving_with_a_new_limit_raises_it_and_a_refusal_changes_nothing(app, store, api):
    payment_id, account_id = undefined_payment(store, api)
    console = signed_in(app, store)

    too_low = console.post(action(payment_id, "raise-limit"), {"creditLimit": "60.00"})
    assert too_low.status_code == 409
    assert "insufficient credit" in too_low.text and 'class="msg msg-error"' in too_low.text
    assert 'value="60.00"' in too_low.text  # what was typed stays in the form
    assert dec(account(api, account_id)["creditLimit"]) == dec("50")
    assert payment(api, payment_id)["status"] == "undefined"

    malformed = console.post(action(payment_id, "raise-limit"), {"creditLimit": "12.345"})
    assert malformed.status_code == 400 and "must have at most 2 decimal places" in malformed.text
    missing = console.post(action(payment_id, "raise-limit"), {"creditLimit": ""})
    assert missing.status_code == 400 and "is required" in missing.text
    assert payment(api, payment_id)["status"] == "undefined"

    raised = console.post(action(payment_id, "raise-limit"), {"creditLimit": "120.00"})
    assert raised.status_code == 303, raised.text
    assert "the credit limit is now 120.00" in console.get(QUEUE).text
    assert dec(account(api, account_id)["creditLimit"]) == dec("120")
    decided = payment(api, payment_id)
    assert decided["status"] == "approved"
    assert decided["message"] == "approved by an operator with a new credit limit"


def test_deny_with_a_reason(app, store, api):
    payment_id, account_id = undefined_payment(store, api)
    console = signed_in(app, store)
    denied = console.post(action(payment_id, "deny"), {"reason": "Ask for a down payment"})
    assert denied.status_code == 303
    page = console.get(QUEUE)
    assert f"Payment {payment_id} denied." in page.text
    assert "Ask for a down payment" in recent_part(page.text)
    decided = payment(api, payment_id)
    assert decided["status"] == "denied" and decided["message"] == "Ask for a down payment"
    assert decided["code"] == "DeniedByOperator"
    assert dec(account(api, account_id)["preAuthorizedCredit"]) == dec("0")

    other_id, _ = undefined_payment(store, api)
    too_long = console.post(action(other_id, "deny"), {"reason": "x" * 501})
    assert too_long.status_code == 400 and "must be at most 500 characters" in too_long.text
    assert console.post(action(other_id, "deny")).status_code == 303  # the reason is optional
    assert payment(api, other_id)["message"] == "denied by an operator"


def test_a_second_decision_is_shown_as_an_error(app, store, api):
    payment_id, _ = undefined_payment(store, api)
    console = signed_in(app, store)
    assert console.post(action(payment_id, "approve")).status_code == 303
    again = console.post(action(payment_id, "approve"))
    assert again.status_code == 409
    assert f"Payment {payment_id}: the payment was already approved" in again.text
    assert 'class="msg msg-error"' in again.text
    assert console.post(action(payment_id, "deny")).status_code == 409
    assert payment(api, payment_id)["status"] == "approved"
    unknown = console.post(action("NO-SUCH-PAYMENT", "approve"))
    assert unknown.status_code == 404 and "no payment NO-SUCH-PAYMENT" in unknown.text


def test_past_the_deadline_an_approval_is_refused(app, store, api, frozen_clock):
    payment_id, _ = undefined_payment(store, api)
    console = signed_in(app, store)
    frozen_clock.set(frozen_clock.moment + timedelta(days=2, seconds=1))
    assert "(passed: it is being denied)" in console.get(QUEUE).text
    late = console.post(action(payment_id, "approve"))
    assert late.status_code == 409 and "the review window has passed" in late.text
    assert payment(api, payment_id)["status"] != "approved"


def test_a_viewer_sees_the_queue_but_cannot_decide(app, store, api):
    payment_id, _ = undefined_payment(store, api)
    viewer = signed_in(app, store, "viewer")
    page = viewer.get(QUEUE)
    assert page.status_code == 200
    assert f'data-payment="{payment_id}"' in page.text
    assert "Approve once" not in page.text and "/deny" not in page.text
    for name, data in (("approve", {}), ("raise-limit", {"creditLimit": "500"}), ("deny", {})):
        refused = viewer.post(action(payment_id, name), data)
        assert refused.status_code == 403, name
        assert "can read but not change anything" in refused.text
    refused = viewer.post("/admin/settings/checkout", {"checkoutManualReview": "off"})
    assert refused.status_code == 403
    assert payment(api, payment_id)["status"] == "undefined"
    assert api.get("/checkout/settings").json()["manualReviewEnabled"] is True


def test_a_form_without_its_csrf_token_is_refused(app, store, api):
    payment_id, _ = undefined_payment(store, api)
    console = signed_in(app, store)
    for name in ("approve", "deny"):
        refused = console.post(action(payment_id, name), token=False)
        assert refused.status_code == 403 and "This form has expired" in refused.text
    wrong = console.post(action(payment_id, "approve"), {"csrf_token": "0" * 64}, token=False)
    assert wrong.status_code == 403
    refused = console.post("/admin/settings/checkout", {"checkoutManualReview": "off"}, token=False)
    assert refused.status_code == 403
    assert payment(api, payment_id)["status"] == "undefined"
    assert api.get("/checkout/settings").json()["manualReviewEnabled"] is True


def settings_form(**changes) -> dict:
    form = {
        "checkoutManualReview": "on",
        "checkoutHold": "12",
        "checkoutHoldUnit": "hours",
        "checkoutReviewWindow": "90",
        "checkoutReviewWindowUnit": "minutes",
        "checkoutAutoSettleDelay": "1.5",
        "checkoutAutoSettleDelayUnit": "days",
        "checkoutCallbackAppKey": "vtexappkey-mystore-ABC",
        "checkoutCallbackAppToken": "",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def stored_token(database, store) -> str | None:
    with database.read() as session:
        return session.scalar(
            select(CheckoutSettings.callback_app_token).where(CheckoutSettings.store_id == store.id)
        )


def test_the_settings_form_round_trips_and_never_shows_the_token(app, store, api, database):
    console = signed_in(app, store)
    page = console.get("/admin/settings")
    assert "Checkout (VTEX)" in page.text
    assert 'name="checkoutManualReview" type="checkbox" aria-describedby' in page.text  # off
    assert 'name="checkoutHold" value="30"' in page.text  # the defaults, in days
    assert 'name="checkoutReviewWindow" value="2"' in page.text
    assert 'name="checkoutAutoSettleDelay" value="7"' in page.text
    assert 'data-token-state="unset"' in page.text

    token = "SECRET-callback-token-0123456789"
    saved = console.post("/admin/settings/checkout", settings_form(checkoutCallbackAppToken=token))
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings#checkout"
    assert api.get("/checkout/settings").json() == {
        "manualReviewEnabled": True,
        "holdSeconds": 12 * 3600,
        "reviewWindowSeconds": 90 * 60,
        "autoSettleDelaySeconds": 36 * 3600,
        "callbackAppKey": "vtexappkey-mystore-ABC",
        "callbackAppTokenSet": True,
    }
    page = console.get("/admin/settings")
    assert "Checkout settings saved." in page.text
    assert token not in page.text
    assert 'name="checkoutCallbackAppToken" type="password" value=""' in page.text
    assert 'data-token-state="set"' in page.text
    assert 'name="checkoutHold" value="12"' in page.text and '<option value="hours" selected>' in page.text
    assert 'name="checkoutReviewWindow" value="90"' in page.text
    assert 'name="checkoutAutoSettleDelay" value="36"' in page.text  # shown in whole hours
    assert 'value="vtexappkey-mystore-ABC"' in page.text
    assert 'name="checkoutManualReview" type="checkbox" checked' in page.text

    kept = console.post("/admin/settings/checkout", settings_form(checkoutManualReview=None))
    assert kept.status_code == 303
    assert stored_token(database, store) == token  # an empty field keeps the token
    assert api.get("/checkout/settings").json()["manualReviewEnabled"] is False

    both = console.post(
        "/admin/settings/checkout", settings_form(checkoutRemoveToken="on", checkoutCallbackAppToken="new")
    )
    assert both.status_code == 400 and "type a new token or tick remove, not both" in both.text
    assert stored_token(database, store) == token

    removed = console.post("/admin/settings/checkout", settings_form(checkoutRemoveToken="on"))
    assert removed.status_code == 303
    assert stored_token(database, store) is None
    assert 'data-token-state="unset"' in console.get("/admin/settings").text


def test_a_refused_settings_form_saves_nothing_and_keeps_what_was_typed(app, store, api, database):
    console = signed_in(app, store)
    before = api.get("/checkout/settings").json()
    token = "typed-but-refused-token"
    refused = console.post(
        "/admin/settings/checkout",
        settings_form(checkoutHold="5", checkoutHoldUnit="minutes", checkoutCallbackAppToken=token),
    )
    assert refused.status_code == 400
    assert "The checkout settings were not saved" in refused.text
    assert "Hold of an approved purchase: must be between 600 and 2592000 seconds" in refused.text
    assert 'name="checkoutHold" value="5"' in refused.text
    assert token not in refused.text
    # The store's other settings are still on the page, as stored.
    assert 'name="defaultCreditValue"' in refused.text
    assert api.get("/checkout/settings").json() == before
    assert stored_token(database, store) is None

    for changes, message in (
        ({"checkoutReviewWindow": "ten"}, "Review window: must be a number"),
        ({"checkoutReviewWindow": "0.3333", "checkoutReviewWindowUnit": "hours"}, "whole number of seconds"),
        ({"checkoutAutoSettleDelay": "8", "checkoutAutoSettleDelayUnit": "days"}, "between 0 and 604800"),
        ({"checkoutHoldUnit": "weeks"}, "unit must be one of"),
    ):
        response = console.post("/admin/settings/checkout", settings_form(**changes))
        assert response.status_code == 400 and message in response.text, changes
    assert api.get("/checkout/settings").json() == before
