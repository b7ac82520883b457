"""Searching invoices of a store or of one account, with the summary of all matches."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from customer_credit.accounts import service as accounts
from customer_credit.auth.principal import Principal
from customer_credit.invoices import queries
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.paging import Window


@dataclass(frozen=True)
class InvoicePage:
    rows: list[tuple[Invoice, str]]
    summary: dict[str, int]


def search_invoices(
    session: Session,
    principal: Principal,
    filters: InvoiceFilters,
    window: Window,
    *,
    account_public_id: str | None = None,
) -> InvoicePage:
    account_id = None
    if account_public_id is not None:
        account_id = accounts.get_account(session, principal, account_public_id).id
    where = queries.matching(principal.store_id, filters, account_id=account_id)
    return InvoicePage(
        rows=queries.page(session, where, offset=window.offset, limit=window.limit),
        summary=queries.summary(session, where),
    )
