"""Payments received: the store's Payment ledger entries recorded between two days of its
calendar, newest first, with their count and sum (ledger/received.py). The dashboard's "Paid
this month" card opens it from the first of the month, so the page lists what the card adds up.
Read only, for every role."""

from datetime import date, timedelta
from math import ceil
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import page_number
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, signed_in
from customer_credit.console.web import render
from customer_credit.i18n import gettext as _
from customer_credit.ledger.received import Received, received_between

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50
# Days the form takes: a window longer than this would be a history dump, not a reconciliation.
LONGEST_DAYS = 366


def _day(raw: str, errors: dict[str, str], field: str) -> date | None:
    """The day typed, None when empty; a refusal goes to `errors` (shown after the label)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("must be a date such as 2026-12-31")
        return None


@router.get("/payments")
def payments_received(request: Request, visit: Annotated[Visit, Depends(signed_in)], page: str = "1"):
    look = visit.presentation
    today = look.local_day(now_of(request))
    raw_from = request.query_params.get("from", "")
    raw_to = request.query_params.get("to", "")
    errors: dict[str, str] = {}
    first = _day(raw_from, errors, "from") or today.replace(day=1)
    last = _day(raw_to, errors, "to") or today
    if not errors and last < first:
        errors["to"] = _("must not be before the first day")
    if not errors and (last - first).days >= LONGEST_DAYS:
        errors["to"] = _("the period must be at most %(days)s days") % {"days": LONGEST_DAYS}
    found = Received([], 0, 0)
    number = pages = 1
    if not errors:
        start, end = look.day_start(first), look.day_start(last + timedelta(days=1))
        number = page_number(page)
        with request.app.state.db.read(replica=True) as session:
            found = received_between(
                session, visit.store.id, start, end, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
            )
            pages = max(1, ceil(found.count / PAGE_SIZE))
            if number > pages:  # past the last page (a stale link): show the last one
                number = pages
                found = received_between(
                    session, visit.store.id, start, end, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
                )
    return render(
        request,
        "payments.html",
        page_context(
            visit,
            "dashboard",
            _("Payments received"),
            found=found,
            page=number,
            pages=pages,
            filters={"from": raw_from or first.isoformat(), "to": raw_to or last.isoformat()},
            errors=errors,
            inline_errors=bool(errors),
        ),
        status_code=400 if errors else 200,
    )
