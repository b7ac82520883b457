"""Searching invoices of a store or of one account, with the summary of all matches."""

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from customer_credit.accounts import service as accounts
from customer_credit.auth.principal import Principal
from customer_credit.dates import parse_bound
from customer_credit.errors import field_error
from customer_credit.invoices import queries, totals
from customer_credit.invoices.models import STATUSES, Invoice
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.money import MoneyError, parse_amount, to_cents
from customer_credit.paging import Window
from customer_credit.validation import clean_text


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
    order: queries.Order = queries.OLDEST_FIRST,
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
    summary = _summary_from_totals(session, principal.store_id, filters, account_id)
    if summary is None or (len(where) > 1 and summary["count"] <= queries.FEW_MATCHES):
        # Filtered: usually few matches, read once for the page and the summary. (A status
        # alone takes its summary from the totals only when its matches are many, so dense that
        # walking the created-at index for the page is right; few may sit anywhere in it.)
        found = queries.page_with_summary(
            session, where, offset=window.offset, limit=window.limit, order=order
        )
        if found is not None:
            return InvoicePage(rows=found[0], summary=found[1])
    if summary is None:
        summary = queries.summary(session, where)
    rows = []
    if window.offset < summary["count"]:
        rows = queries.page(session, where, offset=window.offset, limit=window.limit, order=order)
    return InvoicePage(rows=rows, summary=summary)


def _summary_from_totals(
    session: Session, store_id: int, filters: InvoiceFilters, account_id: int | None
) -> dict[str, int] | None:
    """The summary of a store-wide search without filters, or with `status` alone, read from
    the store's maintained totals (invoices/totals.py: exact, kept in the same transaction as
    every invoice change) instead of adding up every invoice; None for any other search."""
    if account_id is not None or filters.status not in (None, *STATUSES):
        return None
    if queries.conditions(replace(filters, status=None)):
        return None
    return totals.stored(session, store_id).summary(filters.status)


def parse_filters(
    created_from,
    created_to,
    due_from,
    due_to,
    value,
    status,
    friendly_id,
    observation,
    account_id,
    op,
    *,
    overdue_at: datetime | None = None,
) -> InvoiceFilters:
    """Query-string filters (the API's and the console's) as InvoiceFilters; a malformed
    date, value, status or op is a 400 naming it. `overdue_at` keeps only the invoices overdue
    at that moment."""
    if status not in (None, "") and status not in STATUSES:
        raise field_error("status", f"must be one of {', '.join(STATUSES)}")
    if op not in (None, "", "and", "or"):
        raise field_error("op", "must be 'and' or 'or'")
    value_cents = None
    if value not in (None, ""):
        try:
            value_cents = to_cents(parse_amount(value))
        except MoneyError as error:
            raise field_error("value", str(error)) from None
    for name, text in (
        ("friendlyId", friendly_id),
        ("observation", observation),
        ("creditAccountId", account_id),
    ):
        if text:
            clean_text(name, text, max_length=1000, allow_newlines=False)
    return InvoiceFilters(
        created_from=parse_bound("createdDateFrom", created_from, upper=False),
        created_to=parse_bound("createdDateTo", created_to, upper=True),
        due_from=parse_bound("dueDateFrom", due_from, upper=False),
        due_to=parse_bound("dueDateTo", due_to, upper=True),
        value_cents=value_cents,
        status=status or None,
        friendly_id=friendly_id or None,
        observation=observation or None,
        account_public_id=account_id or None,
        overdue_at=overdue_at,
        any_of=op == "or",
    )
