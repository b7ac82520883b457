"""The reminder log: the store's due-date reminders (pending, sent, failed, …) newest first,
filtered by status and paged; what `customer-credit reminders log` prints, from the same
service. Read only: the reminder worker decides what is sent."""

from math import ceil
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from customer_credit.console.accounts_pages import page_number
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, signed_in
from customer_credit.console.web import render
from customer_credit.i18n import gettext as _
from customer_credit.reminders import service as reminders
from customer_credit.reminders.models import STATUSES

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 25


@router.get("/reminders")
def reminder_log(
    request: Request, visit: Annotated[Visit, Depends(signed_in)], status: str = "", page: str = "1"
):
    status = status if status in STATUSES else ""
    with request.app.state.db.read(replica=True) as session:
        total = reminders.count_reminders(session, visit.store.id, status=status or None)
        pages = max(1, ceil(total / PAGE_SIZE))
        number = page_number(page, pages)
        rows = reminders.reminder_log(
            session, visit.store.id, status=status or None, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        return render(
            request,
            "reminder_log.html",
            page_context(
                visit,
                "reminders",
                _("Reminder log"),
                rows=rows,
                total=total,
                page=number,
                pages=pages,
                filters={"status": status},
                statuses=STATUSES,
            ),
        )
