"""Release a hold and refund a purchase from the account page's transaction rows, through the
same services as the API: the hold that stopped an account from closing can be let go, a
refund is typed in the store's notation and bounded like the API's, a viewer changes nothing.
SQLite and PostgreSQL."""

from decimal import Decimal

from sqlalchemy import select

from customer_credit.transactions.models import Transaction
from tests.console.support import signed_in
from tests.console.test_pages import configure_presentation
from tests.helpers import account, hold, open_account, purchase


def status_of(store, transaction_id: str) -> str:
    with store.database.read() as session:
        return session.scalar(
            select(Transaction.status).where(
                Transaction.store_id == store.id, Transaction.public_id == transaction_id
            )
        )


def refunded_cents(store, transaction_id: str) -> int:
    with store.database.read() as session:
        return session.scalar(
            select(Transaction.refunded_cents).where(
                Transaction.store_id == store.id, Transaction.public_id == transaction_id
            )
        )


def close_button(page: str) -> str:
    """The attributes of the account page's close button."""
    return (
        page.split('<button type="submit" class="danger"')[-1]
        .split(">")[0]
        .replace(' aria-describedby="close-refusal"', "")
        .strip()
    )


def test_releasing_the_last_hold_lets_the_account_close(app, store, api):
    account_id = open_account(api, credit_limit="500")["id"]
    held = hold(api, account_id, "120", settle=False)
    assert held.status_code == 200, held.text
    transaction_id = held.json()["id"]
    console = signed_in(app, store)

    page = console.get(f"/admin/accounts/{account_id}").text
    assert f'action="/admin/accounts/{account_id}/transactions/{transaction_id}/release"' in page
    # The close button is disabled and says why, in the service's words.
    assert close_button(page).endswith("disabled")
    assert 'data-refusal="AccountHasOpenDebt"' in page and "settle or cancel them first" in page
    refused = console.post(f"/admin/accounts/{account_id}/close")
    assert refused.status_code in (400, 409)

    released = console.post(f"/admin/accounts/{account_id}/transactions/{transaction_id}/release")
    assert released.status_code == 303, released.text
    reloaded = console.get(released.headers["location"]).text
    assert "The hold was released." in reloaded
    assert "disabled" not in close_button(reloaded) and "data-refusal" not in reloaded
    assert Decimal(str(account(api, account_id)["availableCredit"])) == Decimal("500")
    assert status_of(store, transaction_id) == "Cancelled"
    assert console.post(f"/admin/accounts/{account_id}/close").status_code == 303
    assert account(api, account_id)["status"] == "Closed"


def test_a_settled_purchase_cannot_be_released_and_says_why(app, store, api):
    account_id = open_account(api)["id"]
    transaction_id = purchase(api, account_id, "80")
    console = signed_in(app, store)
    page = console.get(f"/admin/accounts/{account_id}").text
    assert f"/transactions/{transaction_id}/release" not in page
    refused = console.post(f"/admin/accounts/{account_id}/transactions/{transaction_id}/release")
    assert refused.status_code == 409
    assert "refund it instead" in refused.text
    assert status_of(store, transaction_id) == "Settled"


def test_a_refund_typed_in_the_store_notation_lowers_the_invoice(app, store, api):
    account_id = open_account(api, credit_limit="5000")["id"]
    transaction_id = purchase(api, account_id, "1500")
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    url = f"/admin/accounts/{account_id}/transactions/{transaction_id}/refund"
    assert f'action="{url}"' in console.get(f"/admin/accounts/{account_id}").text

    done = console.post(url, {"value": "1.000,50"})
    assert done.status_code == 303, done.text
    assert refunded_cents(store, transaction_id) == 100050

    too_much = console.post(url, {"value": "600,00"})  # 499.50 is left to refund
    assert too_much.status_code in (400, 409)
    assert refunded_cents(store, transaction_id) == 100050
    bad = console.post(url, {"value": "mil"})
    assert bad.status_code == 400


def test_a_viewer_cannot_release_or_refund(app, store, api):
    account_id = open_account(api)["id"]
    held = hold(api, account_id, "30", settle=False).json()["id"]
    settled = purchase(api, account_id, "20")
    viewer = signed_in(app, store, "viewer")
    assert f"/transactions/{held}/release" not in viewer.get(f"/admin/accounts/{account_id}").text
    assert viewer.post(f"/admin/accounts/{account_id}/transactions/{held}/release").status_code == 403
    assert (
        viewer.post(f"/admin/accounts/{account_id}/transactions/{settled}/refund", {"value": "5"}).status_code
        == 403
    )
    assert status_of(store, held) == "Authorized"
