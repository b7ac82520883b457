"""Reminder messages: default templates (plain text and HTML) that a store may override, and
their rendering with the invoice's figures formatted in the store's locale and currency.

Templates are Jinja2 in a sandbox (a store's template cannot reach Python objects); HTML is
autoescaped, and every variable is a plain string or number. Every render runs within a budget
(see budget.py and sandbox.py): a template that would need more is refused at upload
(`TemplateTooExpensive`), and one that fails when sending is replaced by the default."""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import StrictUndefined, TemplateError

from customer_credit.errors import InvalidInput, field_error
from customer_credit.i18n import language_of
from customer_credit.money import from_cents
from customer_credit.reminders import default_texts
from customer_credit.reminders.budget import TemplateTooExpensive
from customer_credit.reminders.models import AFTER, PRIOR
from customer_credit.reminders.sandbox import BoundedEnvironment, render_within_budget

log = logging.getLogger("customer_credit.reminders")

MAX_SUBJECT = 500
MAX_BODY = 20_000

_TEXT = BoundedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
_HTML = BoundedEnvironment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)

VARIABLES = {
    "store_name": "the store's name",
    "customer_email": "the account's e-mail",
    "invoice_id": "the invoice id ({transactionId}-{installment})",
    "friendly_id": "the short invoice id shown to customers",
    "installment": "the installment number",
    "installments": "the number of installments",
    "amount_due": "what is still owed, in the store's currency",
    "invoice_value": "the invoice value",
    "amount_paid": "what was paid so far",
    "due_date": "the due date, in the store's locale",
    "original_due_date": "the due date before any postponement",
    "days_until_due": "whole days from the send day to the due date (0 when due)",
    "days_overdue": "whole days past the due date (0 when not overdue)",
    "interest": "late interest so far at the store's daily rate",
    "total_due": "amount_due plus interest",
    "payment_link": "the invoice's payment link (may be empty)",
    "payment_instructions": "the store's payment instructions (may be empty)",
    "trigger_days": "the `days` of the trigger that sent this reminder",
    "dunning_level": "the name of the dunning level of this step after the due date (may be empty)",
    "late_fee": "the late fee charged at this dunning step, as a new invoice (may be empty)",
}

DEFAULT_SUBJECTS = {
    PRIOR: "Reminder: invoice {{ friendly_id }} of {{ amount_due }} is due on {{ due_date }}",
    AFTER: "Overdue: invoice {{ friendly_id }} of {{ total_due }} was due on {{ due_date }}",
}

DEFAULT_TEXT = {
    PRIOR: """Hello,

This is a reminder from {{ store_name }}: invoice {{ friendly_id }} (installment {{ installment }} of {{ installments }}) for {{ amount_due }} is due on {{ due_date }}{% if days_until_due %}, in {{ days_until_due }} day{{ "s" if days_until_due != 1 else "" }}{% endif %}.
{% if payment_link %}
Pay online: {{ payment_link }}
{% endif %}{% if payment_instructions %}
How to pay:
{{ payment_instructions }}
{% endif %}
If you have already paid, please ignore this message.
""",
    AFTER: """Hello,

Invoice {{ friendly_id }} from {{ store_name }} (installment {{ installment }} of {{ installments }}) was due on {{ due_date }} and is {{ days_overdue }} day{{ "s" if days_overdue != 1 else "" }} overdue.

Amount due: {{ amount_due }}
Late interest: {{ interest }}
Total to pay: {{ total_due }}
{% if late_fee %}
A late fee of {{ late_fee }} was charged as a separate invoice.
{% endif %}{% if payment_link %}
Pay online: {{ payment_link }}
{% endif %}{% if payment_instructions %}
How to pay:
{{ payment_instructions }}
{% endif %}
If you have already paid, please ignore this message.
""",
}

_HTML_FRAME = """<!doctype html>
<html><body style="font-family: sans-serif; color: #222; max-width: 560px">
{body}
{{% if payment_link %}}<p><a href="{{{{ payment_link }}}}" style="display: inline-block; padding: 10px 18px; background: #1a56db; color: #fff; text-decoration: none; border-radius: 4px">{pay}</a></p>{{% endif %}}
{{% if payment_instructions %}}<p><strong>{how}</strong><br>{{{{ payment_instructions | replace("\\n", "<br>" | safe) }}}}</p>{{% endif %}}
<p style="color: #666">{ignore}</p>
</body></html>
"""

_ENGLISH_FRAME = {
    "pay": "Pay now",
    "how": "How to pay",
    "ignore": "If you have already paid, please ignore this message.",
}

DEFAULT_HTML = {
    PRIOR: _HTML_FRAME.format(
        **_ENGLISH_FRAME,
        body="<p>Hello,</p>\n<p>This is a reminder from {{ store_name }}: invoice "
        "<strong>{{ friendly_id }}</strong> (installment {{ installment }} of {{ installments }}) "
        "for <strong>{{ amount_due }}</strong> is due on <strong>{{ due_date }}</strong>.</p>",
    ),
    AFTER: _HTML_FRAME.format(
        **_ENGLISH_FRAME,
        body="<p>Hello,</p>\n<p>Invoice <strong>{{ friendly_id }}</strong> from {{ store_name }} "
        "(installment {{ installment }} of {{ installments }}) was due on "
        "<strong>{{ due_date }}</strong> and is {{ days_overdue }} days overdue.</p>\n"
        "<table><tr><td>Amount due</td><td>{{ amount_due }}</td></tr>"
        "<tr><td>Late interest</td><td>{{ interest }}</td></tr>"
        "<tr><td><strong>Total to pay</strong></td><td><strong>{{ total_due }}</strong></td></tr></table>"
        "{% if late_fee %}<p>A late fee of <strong>{{ late_fee }}</strong> was charged as a separate "
        "invoice.</p>{% endif %}",
    ),
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class TemplateSet:
    subject: str
    text: str
    html: str | None


def default_templates(kind: str, locale: str | None = None) -> TemplateSet:
    """The built-in e-mail of `kind` in the language of the store's `locale` (English when the
    product has no catalog for it)."""
    language = language_of(locale)
    if language not in default_texts.SUBJECTS:
        return TemplateSet(DEFAULT_SUBJECTS[kind], DEFAULT_TEXT[kind], DEFAULT_HTML[kind])
    pay, how, ignore = default_texts.FRAME_WORDS[language]
    return TemplateSet(
        default_texts.SUBJECTS[language][kind],
        default_texts.TEXTS[language][kind],
        _HTML_FRAME.format(body=default_texts.HTML_BODIES[language][kind], pay=pay, how=how, ignore=ignore),
    )


@dataclass(frozen=True)
class Facts:
    """What a reminder says, before formatting."""

    store_name: str
    customer_email: str
    invoice_id: str
    friendly_id: str
    installment: int
    installments: int
    value_cents: int
    paid_cents: int
    interest_cents: int
    due_at: datetime
    original_due_at: datetime
    days_until_due: int
    days_overdue: int
    payment_link: str | None
    payment_instructions: str | None
    trigger_days: int
    # The dunning level of an overdue reminder's step (credit_control.dunning), if any.
    dunning_level: str = ""
    late_fee_cents: int = 0


@dataclass(frozen=True)
class Presentation:
    locale: str = "en_US"
    currency: str = "USD"
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone or "UTC")
        except (ValueError, KeyError, OSError):
            return ZoneInfo("UTC")

    def money(self, cents: int) -> str:
        return format_currency(from_cents(cents), self.currency or "USD", locale=self.locale or "en_US")

    def day(self, moment: datetime) -> str:
        return format_date(moment.astimezone(self.zone).date(), format="long", locale=self.locale or "en_US")


def context(facts: Facts, look: Presentation) -> dict:
    owed = facts.value_cents - facts.paid_cents
    return {
        "store_name": facts.store_name,
        "customer_email": facts.customer_email,
        "invoice_id": facts.invoice_id,
        "friendly_id": facts.friendly_id,
        "installment": facts.installment,
        "installments": facts.installments,
        "amount_due": look.money(owed),
        "invoice_value": look.money(facts.value_cents),
        "amount_paid": look.money(facts.paid_cents),
        "due_date": look.day(facts.due_at),
        "original_due_date": look.day(facts.original_due_at),
        "days_until_due": facts.days_until_due,
        "days_overdue": facts.days_overdue,
        "interest": look.money(facts.interest_cents),
        "total_due": look.money(owed + facts.interest_cents),
        "payment_link": facts.payment_link or "",
        "payment_instructions": facts.payment_instructions or "",
        "trigger_days": facts.trigger_days,
        "dunning_level": facts.dunning_level,
        "late_fee": look.money(facts.late_fee_cents) if facts.late_fee_cents else "",
    }


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool):
    return (_HTML if html else _TEXT).from_string(source)


def _rendered(source: str, html: bool, values: dict, limit: int) -> str:
    if len(source) > limit:  # a template stored before the limit, or written around the API
        raise TemplateTooExpensive(f"the template is longer than {limit} characters")
    return render_within_budget(_compiled(source, html), values)


def _render(templates: TemplateSet, values: dict) -> Message:
    subject = _rendered(templates.subject, False, values, MAX_SUBJECT)
    # A subject is one line: newlines in it would break the e-mail header.
    subject = " ".join(subject.split())[:MAX_SUBJECT]
    text = _rendered(templates.text, False, values, MAX_BODY)
    html = _rendered(templates.html, True, values, MAX_BODY) if templates.html else None
    return Message(subject, text, html)


def render(templates: TemplateSet, values: dict, *, fallback: TemplateSet | None = None) -> Message:
    """The message, within each template's budget. When the templates fail (too expensive for
    these figures, or wrong for them, e.g. a division by a figure that is 0) and a `fallback`
    is given, the message is rendered from the fallback instead: the customer still gets the
    reminder, and the failure is logged for the operator."""
    try:
        return _render(templates, values)
    except Exception as failure:
        if fallback is None or fallback == templates:
            raise
        reason = (
            failure.reason
            if isinstance(failure, TemplateTooExpensive)
            else f"{type(failure).__name__}: {failure}"
        )
        log.warning("a store's reminder template failed; the default was used", extra={"error": reason})
        return _render(fallback, values)


SAMPLE = Facts(
    store_name="Example Store",
    customer_email="customer@example.com",
    invoice_id="7583E36F101C461094AB6CA68FA8EE2C-01",
    friendly_id="IBjuAsrJ-1",
    installment=1,
    installments=3,
    value_cents=123456,
    paid_cents=1000,
    interest_cents=250,
    due_at=datetime.fromisoformat("2026-05-20T15:00:00+00:00"),
    original_due_at=datetime.fromisoformat("2026-05-20T15:00:00+00:00"),
    days_until_due=3,
    days_overdue=2,
    payment_link="https://pay.example.com/i/IBjuAsrJ-1",
    payment_instructions="Bank transfer to account 1234-5",
    trigger_days=3,
    dunning_level="Second notice",
    late_fee_cents=1500,
)


# Upload renders against both: a template whose cost grows with the figures (a loop over
# days_overdue, say) is then refused at upload rather than at its first send.
LARGE_SAMPLE = dataclasses.replace(
    SAMPLE,
    installment=99,
    installments=99,
    value_cents=99_999_999_999,
    paid_cents=0,
    interest_cents=9_999_999_999,
    days_until_due=0,
    days_overdue=3650,
    trigger_days=365,
)
SAMPLES = (SAMPLE, LARGE_SAMPLE)


def too_expensive(field: str, refusal: TemplateTooExpensive) -> InvalidInput:
    return InvalidInput(
        f"{field}: {refusal.reason}",
        code="TemplateTooExpensive",
        details=[{"field": field, "message": refusal.reason}],
    )


def check_templates(subject: str, text: str, html: str | None) -> TemplateSet:
    """Validates a store's templates: sizes, syntax, only known variables, and the budget of a
    render against sample figures (each field's error names it)."""
    fields = (("subject", subject, MAX_SUBJECT), ("text", text, MAX_BODY), ("html", html, MAX_BODY))
    for name, source, limit in fields:
        if source is None:
            continue
        if not source.strip():
            raise field_error(name, "must not be empty")
        if len(source) > limit:
            raise field_error(name, f"must be at most {limit} characters")
        try:
            template = _compiled(source, name == "html")
            for sample in SAMPLES:
                render_within_budget(template, context(sample, Presentation()))
        except TemplateTooExpensive as refusal:
            raise too_expensive(name, refusal) from None
        except TemplateError as error:
            raise field_error(name, f"template error: {error}") from None
        except Exception as error:  # noqa: BLE001 - a sandbox refusal or a bad filter argument
            raise field_error(name, f"template error: {type(error).__name__}: {error}") from None
    return TemplateSet(subject, text, html)
