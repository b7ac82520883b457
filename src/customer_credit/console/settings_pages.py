"""Settings: the store configuration of the API (validated by the API's own schema) and the
console-only presentation: payment instructions, locale, currency and time zone."""

import re
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from customer_credit.clock import now_of
from customer_credit.console import checkout_pages, dunning_pages, numbers, overdue_pages
from customer_credit.console.formatting import (
    clean_currency,
    clean_locale,
    clean_timezone,
    presentation_of,
    timezones,
)
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.web import Message, details_of, redirect, render
from customer_credit.documents import service as documents
from customer_credit.documents.logo import logo_path
from customer_credit.errors import DomainError, field_error
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _
from customer_credit.money import MoneyError
from customer_credit.stores import service as stores
from customer_credit.stores.schemas import MAX_TRIGGERS, StoreConfigIn, config_wire
from customer_credit.validation import clean_text

router = APIRouter(prefix="/admin", include_in_schema=False)

NUMBER_FIELDS = (
    "dailyInterestRate",
    "invoicePostponementLimit",
    "taxRate",
    "maxPostponementDays",
    "defaultCreditValue",
    "maxPreAuthorizationGrowthRate",
)
SWITCHES = (
    "myCreditsEnabled",
    "toleranceEnabled",
    "automaticCheckingAccountCreationEnabled",
    "postponementEnabled",
)
# Typed as the page shows them, in the store's notation: rates as percentages (0.1% a day),
# the amount with its grouping (R$ 5.000,00), whole numbers with or without grouping.
RATE_FIELDS = ("dailyInterestRate", "taxRate", "maxPreAuthorizationGrowthRate")
AMOUNT_FIELDS = ("defaultCreditValue",)
TRIGGER_GROUPS = ("daysPrior", "daysAfter")
MAX_INSTRUCTIONS = 2000
_HH_MM = re.compile(r"^\d{2}:\d{2}$")


def _values_of(config) -> dict:
    wire = config_wire(config)
    shown = presentation_of(config)
    values = {name: str(wire[name]) for name in NUMBER_FIELDS}
    values.update({name: shown.rate(Decimal(str(wire[name]))) for name in RATE_FIELDS})
    values.update(
        {name: numbers.amount_text(Decimal(str(wire[name])), shown.locale) for name in AMOUNT_FIELDS}
    )
    values.update({name: wire[name] for name in SWITCHES})
    for group in TRIGGER_GROUPS:
        triggers = wire["notificationsSettings"][group]
        for index in range(MAX_TRIGGERS):
            trigger = triggers[index] if index < len(triggers) else {}
            values[f"{group}_{index}_days"] = str(trigger.get("days", ""))
            values[f"{group}_{index}_time"] = trigger.get("timeOfDay", "")
    values["paymentInstructions"] = config.payment_instructions or ""
    values["locale"] = config.locale
    values["currency"] = config.currency
    values["timezone"] = config.timezone
    return values


def _page(
    request: Request,
    visit: Visit,
    values: dict,
    *,
    errors=None,
    messages=(),
    status_code=200,
    checkout=None,
    overdue=None,
    documents_section=None,
    dunning=None,
):
    if checkout is None or overdue is None or documents_section is None or dunning is None:
        with request.app.state.db.read() as session:
            checkout = checkout or checkout_pages.checkout_section(session, visit.store.id)
            overdue = overdue or overdue_pages.policy_section(session, visit.store.id)
            documents_section = documents_section or _documents_section(session, visit.store.id)
            dunning = dunning or dunning_pages.dunning_section(session, visit.store.id)
    return render(
        request,
        "settings.html",
        page_context(
            visit,
            "settings",
            "Settings",
            values=values,
            errors=errors or {},
            messages=list(messages),
            groups=TRIGGER_GROUPS,
            slots=range(MAX_TRIGGERS),
            timezones=timezones(),
            **checkout,
            **overdue,
            **dunning,
            documents=documents_section,
        ),
        status_code=status_code,
    )


@router.get("/settings")
def settings_form(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    with request.app.state.db.read() as session:
        values = _values_of(stores.get_config(session, visit.store.id))
    return _page(request, visit, values)


def _field_of(location: tuple) -> str:
    """Pydantic's location of an error, as the form's field name."""
    parts = [str(part) for part in location]
    if parts and parts[0] == "notificationsSettings" and len(parts) >= 3:
        suffix = "days" if parts[-1] == "days" else "time"
        return f"{parts[1]}_{parts[2]}_{suffix}" if len(parts) >= 4 else parts[1]
    return parts[0] if parts else "form"


def _number_in_locale(name: str, raw: str, locale: str) -> str:
    """The field as the API's schema reads it (plain decimal notation); what does not parse in
    the store's notation is passed on as typed, for the schema to name what is wrong."""
    try:
        if name in RATE_FIELDS:
            return str(numbers.parse_rate(raw, locale))
        if name in AMOUNT_FIELDS:
            return str(numbers.parse_amount(raw, locale))
        whole = numbers.parse_number(raw, locale)
    except MoneyError as error:
        raise field_error(name, str(error)) from None
    return str(whole) if whole is not None else raw


def _read(form: FormData, locale: str) -> tuple[dict, dict, dict[str, str]]:
    values: dict = {}
    errors: dict[str, str] = {}
    body: dict = {}
    for name in NUMBER_FIELDS:
        raw = form.get(name)
        values[name] = raw.strip()[:40] if isinstance(raw, str) else ""
        try:
            body[name] = _number_in_locale(name, values[name], locale) if values[name] else ""
        except DomainError as error:
            errors[name] = error.details[0]["message"] if error.details else error.message
    for name in SWITCHES:
        values[name] = form.get(name) == "on"
        body[name] = values[name]
    notifications: dict = {}
    for group in TRIGGER_GROUPS:
        triggers = []
        for index in range(MAX_TRIGGERS):
            days = str(form.get(f"{group}_{index}_days") or "").strip()[:10]
            time_of_day = str(form.get(f"{group}_{index}_time") or "").strip()[:10]
            values[f"{group}_{index}_days"] = days
            values[f"{group}_{index}_time"] = time_of_day
            if not days and not time_of_day:
                continue
            if _HH_MM.match(time_of_day):
                time_of_day += ":00"  # a browser's time input leaves off zero seconds
            triggers.append({"days": days or None, "timeOfDay": time_of_day})
        notifications[group] = triggers
    body["notificationsSettings"] = notifications
    for name in ("paymentInstructions", "locale", "currency", "timezone"):
        raw = form.get(name)
        values[name] = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
    return values, body, errors


@router.post("/settings")
def save_settings(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    values, body, errors = _read(form, visit.presentation.locale)
    parsed = None
    try:
        parsed = StoreConfigIn.model_validate(body)
    except ValidationError as error:
        for item in error.errors():
            message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
            field = _field_of(tuple(item.get("loc", ())))
            errors.setdefault(field, message)
    extra = {}
    for name, column, check in (
        ("locale", "locale", clean_locale),
        ("currency", "currency", clean_currency),
        ("timezone", "timezone", clean_timezone),
        (
            "paymentInstructions",
            "payment_instructions",
            lambda raw: clean_text("paymentInstructions", raw.strip(), max_length=MAX_INSTRUCTIONS) or None,
        ),
    ):
        try:
            extra[column] = check(values[name])
        except DomainError as error:
            errors[name] = error.details[0]["message"] if error.details else error.message
    if errors or parsed is None:
        return _page(
            request,
            visit,
            values,
            errors=errors,
            status_code=400,
            messages=[Message("error", _("The settings were not saved: correct the fields marked below."))],
        )
    with request.app.state.db.write() as session:
        stores.save_config(session, visit.store.id, {**parsed.to_columns(), **extra})
    return redirect(request, "/admin/settings", Message("ok", _("Settings saved.")))


@router.post("/settings/checkout")
def save_checkout_settings(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    """The connector's section, a form of its own (checkout_pages reads and saves it)."""
    visit, form = posted
    try:
        with request.app.state.db.write() as session:
            checkout_pages.save_checkout_settings(session, visit.store.id, form)
    except DomainError as error:
        with request.app.state.db.read() as session:
            values = _values_of(stores.get_config(session, visit.store.id))
            checkout = checkout_pages.checkout_section(
                session,
                visit.store.id,
                values=checkout_pages.posted_checkout_values(form),
                errors=details_of(error),
            )
        return _page(
            request,
            visit,
            values,
            checkout=checkout,
            status_code=error.status_code,
            messages=[
                Message("error", _("The checkout settings were not saved: correct the fields marked below."))
            ],
        )
    return redirect(request, "/admin/settings#checkout", Message("ok", _("Checkout settings saved.")))


def _save_section(
    request: Request,
    posted: tuple[Visit, FormData],
    *,
    save,
    section_again,
    section_name: str,
    saved: str,
    refused: str,
    anchor: str,
):
    """A section of the page that is a form of its own: `save(session, principal, form, now)` in
    one write transaction; on a refusal the page again with the section as typed and its errors
    (`section_again(session, store_id, form, errors)`), else back to the section."""
    visit, form = posted
    try:
        with request.app.state.db.write() as session:
            save(session, visit.principal, form, now_of(request))
    except DomainError as error:
        with request.app.state.db.read() as session:
            values = _values_of(stores.get_config(session, visit.store.id))
            section = section_again(session, visit.store.id, form, details_of(error))
        return _page(
            request,
            visit,
            values,
            status_code=error.status_code,
            messages=[
                Message("error", _("%(refused)s: correct the fields marked below.") % {"refused": _(refused)})
            ],
            **{section_name: section},
        )
    return redirect(request, f"/admin/settings#{anchor}", Message("ok", _(saved)))


@router.post("/settings/overdue-policy")
def save_overdue_policy(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    """The overdue policy's section, a form of its own (console/overdue_pages reads and saves it)."""
    return _save_section(
        request,
        posted,
        save=overdue_pages.save_policy_form,
        section_again=lambda session, store_id, form, errors: overdue_pages.policy_section(
            session, store_id, values=overdue_pages.posted_policy_values(form), errors=errors
        ),
        section_name="overdue",
        saved=N_("Overdue policy saved."),
        refused=N_("The overdue policy was not saved"),
        anchor="overdue-policy",
    )


@router.post("/settings/dunning")
def save_dunning(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    """The dunning levels' section, a form of its own (console/dunning_pages reads and saves it)."""
    return _save_section(
        request,
        posted,
        save=dunning_pages.save_dunning_form,
        section_again=lambda session, store_id, form, errors: dunning_pages.dunning_section(
            session, store_id, rows=dunning_pages.posted_rows(form), errors=errors
        ),
        section_name="dunning",
        saved=N_("Dunning levels saved."),
        refused=N_("The dunning levels were not saved"),
        anchor="dunning",
    )


def _documents_section(session, store_id: int, *, values: dict | None = None, errors=None) -> dict:
    """The documents' section: the printed name and the logo (at its own address, documents/logo.py)."""
    config = stores.get_config(session, store_id)
    logo = logo_path(config)
    if values is None:
        values = {"displayName": config.display_name or "", "attachInvoicePdf": config.attach_invoice_pdf}
    return {
        "values": values,
        "errors": errors or {},
        "logo": logo,
    }


def _uploaded(form: FormData, name: str) -> bytes | None:
    """The bytes of an uploaded file, at most one past the logo limit (enough to refuse it);
    None when the file field was left empty."""
    upload = form.get(name)
    if upload is None or isinstance(upload, str):
        return None
    data = upload.file.read(documents.MAX_LOGO_BYTES + 1)
    return data or None


@router.post("/settings/documents")
def save_documents_settings(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    """The name and logo printed on PDF invoices and statements (documents.service checks them),
    and whether reminder e-mails carry the invoice's PDF."""
    visit, form = posted
    raw_name = form.get("displayName")
    display_name = raw_name if isinstance(raw_name, str) else ""
    attach_invoice_pdf = form.get("attachInvoicePdf") == "on"
    try:
        with request.app.state.db.write() as session:
            documents.save_identity(
                session,
                visit.store.id,
                display_name=display_name,
                logo=_uploaded(form, "logo"),
                remove_logo=form.get("removeLogo") == "on",
                attach_invoice_pdf=attach_invoice_pdf,
            )
    except DomainError as error:
        with request.app.state.db.read() as session:
            values = _values_of(stores.get_config(session, visit.store.id))
            section = _documents_section(
                session,
                visit.store.id,
                values={"displayName": display_name[:300], "attachInvoicePdf": attach_invoice_pdf},
                errors=details_of(error),
            )
        return _page(
            request,
            visit,
            values,
            documents_section=section,
            status_code=error.status_code,
            messages=[
                Message("error", _("The documents settings were not saved: correct the fields marked below."))
            ],
        )
    return redirect(request, "/admin/settings#documents", Message("ok", _("Documents settings saved.")))
