"""HTTP for reminders (extension): a store's templates, and its reminder log."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import StrictStr

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.types import WireModel
from customer_credit.api.wire import DecimalRoute, timestamp
from customer_credit.auth import resources
from customer_credit.reminders import service
from customer_credit.reminders.templates import VARIABLES, TemplateSet

router = APIRouter(prefix="/api/creditcontrol/reminders", tags=["Reminders"], route_class=DecimalRoute)


class TemplatesIn(WireModel):
    subject: StrictStr
    text: StrictStr
    html: StrictStr | None = None


def _wire(kind: str, templates: TemplateSet, custom: bool) -> dict:
    return {
        "kind": kind,
        "custom": custom,
        "subject": templates.subject,
        "text": templates.text,
        "html": templates.html,
        "variables": VARIABLES,
    }


@router.get("/templates/{kind}", summary="The reminder templates in use (extension)")
def get_templates(
    kind: str, ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))]
):
    """`kind` is `prior` (before the due date) or `after` (overdue)."""
    return ctx.read(
        lambda session: _wire(kind, *service.get_templates(session, ctx.principal.store_id, kind))
    )


@router.put("/templates/{kind}", summary="Override the reminder templates (extension)")
def put_templates(
    kind: str,
    body: TemplatesIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    """Jinja2 templates (sandboxed; HTML autoescaped) using the listed variables. Each is
    rendered against sample figures within a budget (steps, sizes, time: see
    reminders/budget.py); one that would exceed it is refused with 400 `TemplateTooExpensive`
    naming the field."""

    def work(session):
        templates = service.set_templates(
            session, ctx.principal.store_id, kind, subject=body.subject, text=body.text, html=body.html
        )
        return _wire(kind, templates, True)

    return ctx.write(work)


@router.delete("/templates/{kind}", summary="Back to the default reminder templates (extension)")
def reset_templates(
    kind: str, ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))]
):
    return ctx.write(
        lambda session: _wire(kind, service.reset_templates(session, ctx.principal.store_id, kind), False)
    )


@router.get("", summary="The reminder log, newest first (extension)")
def reminder_log(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))]):
    def work(session):
        return {
            "data": [
                {
                    "invoiceId": invoice_id,
                    "trigger": {"kind": reminder.kind, "days": reminder.days},
                    "dueDate": timestamp(reminder.due_at),
                    "scheduledAt": timestamp(reminder.scheduled_at),
                    "status": reminder.status,
                    "attempts": reminder.attempts,
                    "recipients": reminder.recipients,
                    "subject": reminder.subject,
                    "lastError": reminder.last_error,
                    "sentAt": timestamp(reminder.sent_at),
                }
                for reminder, invoice_id in service.reminder_log(session, ctx.principal.store_id)
            ]
        }

    return ctx.read(work)
