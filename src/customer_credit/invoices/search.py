"""Searching invoices of a store or of one account, with the summary of all matches."""

from dataclasses import dataclass, replace

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
    if filters.account_public_id and filters.account_ids is None:
        filters = replace(
            filters,
            account_ids=queries.account_ids(session, principal.store_id, filters.account_public_id),
        )
    where = queries.matching(principal.store_id, filters, account_id=account_id)
    if len(where) > 1:
        # Filtered: usually few matches, read once for the page and the summary.
        found = queries.page_with_summary(session, where, offset=window.offset, limit=window.limit)
        if found is not None:
            return InvoicePage(rows=found[0], summary=found[1])
    summary = queries.summary(session, where)
    rows = []
    if window.offset < summary["count"]:
        rows = queries.page(session, where, offset=window.offset, limit=window.limit)
    return InvoicePage(rows=rows, summary=summary)
