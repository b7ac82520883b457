"""Invoice ids are built and read in one place (invoices.ids)."""

from customer_credit.invoices.ids import invoice_public_id, transaction_public_id_of
from tests.helpers import open_account, purchase


def test_an_invoice_id_reads_back_its_transaction_even_with_a_dash_in_it():
    assert invoice_public_id("7583E36F101C461094AB6CA68FA8EE2C", 1) == "7583E36F101C461094AB6CA68FA8EE2C-01"
    assert invoice_public_id("order-7", 12) == "order-7-12"
    assert transaction_public_id_of(invoice_public_id("order-7", 3)) == "order-7"


def test_the_api_issues_and_reads_ids_the_same_way(api):
    account_id = open_account(api)["id"]
    transaction_id = purchase(api, account_id, "30", installments=3)
    found = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    assert [invoice["id"] for invoice in found] == [invoice_public_id(transaction_id, k) for k in (1, 2, 3)]
    assert {invoice["transactionId"] for invoice in found} == {transaction_id}
