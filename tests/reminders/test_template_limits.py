"""Item 9: a store's reminder templates run within a budget. A hostile template (nested loops,
repetition, huge ranges, padding, recursion, deep nesting, huge output) is refused at upload
with 400 `TemplateTooExpensive` in well under a second, ordinary templates still render as
before, and a template that fails only when sending is replaced by the default template
instead of hanging the worker (or poisoning its batch)."""

import itertools
import time
import uuid
from datetime import timedelta

import pytest

from customer_credit.reminders.budget import TemplateTooExpensive
from customer_credit.reminders.models import ReminderTemplate
from customer_credit.reminders.sandbox import render_within_budget
from customer_credit.reminders.templates import (
    SAMPLE,
    Presentation,
    TemplateSet,
    _compiled,
    context,
    default_templates,
    render,
)
from tests.events.support import run_worker
from tests.helpers import open_account, purchase
from tests.reminders.test_reminders import invoices, send_time, setup_store

# A refusal takes milliseconds; this bound only has to hold on a busy machine.
QUICK_S = 2.0

HOSTILE = {
    "nested_loops": "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
    "{{ a }}{% endfor %}{% endfor %}{% endfor %}",
    "nested_huge_ranges": "{% for a in range(10**6) %}{% for b in range(10**6) %}x{% endfor %}{% endfor %}",
    "huge_range": "{{ range(10**12)|list }}",
    "string_multiplication": '{{ "x" * 10**9 }}',
    "reversed_string_multiplication": '{{ 10**9 * "x" }}',
    "list_multiplication": "{% for x in [0] * 10**8 %}{% endfor %}",
    "huge_power": "{{ 10 ** (10 ** 8) }}",
    "printf_width_filter": '{{ "%999999999s"|format(days_overdue) }}',
    "printf_width_operator": '{{ "%999999999d" % days_overdue }}',
    "str_format_width": '{{ "{:>999999999}".format(amount_due) }}',
    "padding_method": "{{ store_name.center(10**9) }}",
    "padding_filter": "{{ store_name|center(10**9) }}",
    "indent_of_many_lines": '{{ ("a\n" * 50000)|indent(1000) }}',
    "join_with_a_big_separator": '{{ range(1000)|join("x" * 99999) }}',
    "replace_with_a_big_string": '{% set s = "x" * 50000 %}{{ s|replace("x", "y" * 50000) }}',
    "doubling_by_macro": "{% macro grow(s, n) %}{{ grow(s ~ s, n - 1) if n else s }}{% endmacro %}"
    '{{ grow("x", 60) }}',
    "doubling_in_a_namespace": '{% set ns = namespace(s="x") %}{% for i in range(64) %}'
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "doubling_nested_lists": "{% set a = [1, 1] %}" + "{% set a = [a, a] %}" * 40 + "{{ a == a }}",
    "endless_macro_recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "branching_macro_recursion": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
    "{% endmacro %}{{ f(40) }}",
    "block_calling_itself": "{% block b %}{{ self.b() }}{% endblock %}",
    "deeply_nested_blocks": "{% if true %}" * 200 + "x" + "{% endif %}" * 200,
    "deeply_nested_loops": "{% for a in [1] %}" * 25 + "x" + "{% endfor %}" * 25,
    "deeply_nested_parentheses": "{{ " + "(" * 500 + "1" + ")" * 500 + " }}",
    "deeply_nested_expression": "{{ " + " + ".join(["days_overdue"] * 1000) + " }}",
    "huge_output_from_a_modest_loop": '{% for i in range(1000) %}{{ "x" * 1000 }}{% endfor %}',
    "huge_literal_output_from_a_modest_loop": "{% for i in range(1000) %}" + "x" * 500 + "{% endfor %}",
    "huge_output_kept_in_a_macro": '{% macro m() %}{% for i in range(1000) %}{{ "x" * 5000 }}{% endfor %}'
    "{% endmacro %}{{ m()|length }}",
    "huge_output_kept_in_a_set_block": "{% set s %}{% for i in range(1000) %}"
    + "y" * 3000
    + "{% endfor %}{% endset %}{{ s|length }}",
    "a_builtin_asked_for_a_huge_size": '{{ (1).to_bytes(10**9, "big")|length }}',
}


def refused_quickly(api, body: dict, field: str) -> dict:
    started = time.monotonic()
    response = api.put("/reminders/templates/prior", json=body)
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "TemplateTooExpensive", error
    assert error["details"][0]["field"] == field, error
    assert elapsed < QUICK_S, f"refused after {elapsed:.2f} s"
    return error


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_is_refused_quickly_at_upload(api, source):
    refused_quickly(api, {"subject": "Reminder {{ friendly_id }}", "text": source}, "text")
    assert api.get("/reminders/templates/prior").json()["custom"] is False  # nothing was stored


def test_the_html_body_and_the_subject_are_bounded_too(api):
    refused_quickly(api, {"subject": "ok", "text": "ok", "html": '<p>{{ "<b>" * 10**8 }}</p>'}, "html")
    refused_quickly(
        api, {"subject": "{% for i in range(1000) %}{{ 'x' * 200 }}{% endfor %}", "text": "ok"}, "subject"
    )


def test_a_template_whose_cost_grows_with_the_figures_is_refused_at_upload(api):
    """Upload renders against a large sample too (days_overdue 3650): a loop over the
    figures is caught before the first send."""
    body = {"subject": "ok", "text": "{% for i in range(days_overdue) %}{{ i }}{% endfor %}"}
    error = refused_quickly(api, body, "text")
    assert "range" in error["message"]


def test_the_sandbox_still_hides_python_internals(api):
    response = api.put(
        "/reminders/templates/prior",
        json={"subject": "ok", "text": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
    )
    assert response.status_code == 400 and "unsafe" in response.json()["error"]["message"], response.text


ORDINARY = {
    "substitution": ("Olá {{ customer_email }}, faltam {{ days_until_due }} dias: {{ amount_due }}.",
                     "Olá customer@example.com, faltam 3 dias: $1,224.56."),
    "macro_and_concatenation": ("{% macro line(label, value) %}{{ label ~ ': ' ~ value }}{% endmacro %}"
                                "{{ line('Due', amount_due) }} / {{ line('Interest', interest) }}",
                                "Due: $1,224.56 / Interest: $2.50"),
    "loop_over_installments": ("{% for i in range(installments) %}{{ loop.index }}/{{ loop.length }}"
                               "{% if not loop.last %}, {% endif %}{% endfor %}", "1/3, 2/3, 3/3"),
    "formats": ("{{ '%s days late, #%03d'|format(days_overdue, installment) }} "
                "{{ '{:>10}|'.format(friendly_id) }}",
                "2 days late, #001 IBjuAsrJ-1|"),
    "text_filters": ("{{ payment_instructions|wordwrap(14)|indent(2) }}|"
                     "{{ store_name|upper|replace('E', '3') }}",
                     "Bank transfer\n  to account\n  1234-5|3XAMPL3 STOR3"),
    "namespace_and_literals": ("{% set ns = namespace(total=0) %}{% for n in [1, 2, 3] %}"
                               "{% set ns.total = ns.total + n * days_overdue %}{% endfor %}{{ ns.total }} "
                               "{{ {'a': installment}['a'] }} {{ ['x', friendly_id]|join('-') }}",
                               "12 1 x-IBjuAsrJ-1"),
    "call_block_and_set_block": ("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}"
                                 "{{ invoice_id|truncate(12) }}{% endcall %}"
                                 "{% set s %}{{ trigger_days }}d{% endset %} {{ s }}",
                                 "[7583E36F1...] 3d"),
}  # fmt: skip


def test_ordinary_templates_are_accepted_and_render_as_before(api):
    values = context(SAMPLE, Presentation())
    for name, (source, expected) in ORDINARY.items():
        accepted = api.put(
            "/reminders/templates/after", json={"subject": "Invoice {{ friendly_id }}", "text": source}
        )
        assert accepted.status_code == 200, (name, accepted.text)
        assert render_within_budget(_compiled(source, False), values) == expected, name
    html = api.put(
        "/reminders/templates/after",
        json={"subject": "s", "text": "t", "html": "<p>{{ '<b>' ~ store_name }}</p>{{ '<br>'|safe }}"},
    )
    assert html.status_code == 200, html.text
    assert render_within_budget(_compiled(html.json()["html"], True), values) == (
        "<p>&lt;b&gt;Example Store</p><br>"
    )


def test_the_render_time_is_bounded():
    """The deadline is a backstop for work the hooks do not see; with a clock that moves 0.1 s
    per reading a ten-item loop runs out of time."""
    template = _compiled("{% for i in range(10) %}{{ i }}{% endfor %}", False)
    assert render_within_budget(template, {}) == "0123456789"
    readings = itertools.count(0.0, 0.1)
    with pytest.raises(TemplateTooExpensive, match="longer than"):
        render_within_budget(template, {}, clock=lambda: next(readings))


def test_a_failing_template_falls_back_only_when_asked():
    values = context(SAMPLE, Presentation())
    hostile = TemplateSet("s", '{{ "x" * 10**9 }}', None)
    default = default_templates("prior")
    with pytest.raises(TemplateTooExpensive):
        render(hostile, values)
    assert render(hostile, values, fallback=default).subject.startswith("Reminder: invoice IBjuAsrJ-1")


# --- send time --------------------------------------------------------------------------------


def sent_with_the_default(api, database, mailbox, email: str) -> None:
    account_id = open_account(api, credit_limit="5000", email=email)["id"]
    purchase(api, account_id, "70")
    (invoice,) = invoices(api, account_id)
    started = time.monotonic()
    run_worker(database, send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1))
    assert time.monotonic() - started < 10 * QUICK_S
    (message,) = mailbox.to(email)
    assert message["Subject"].strip().startswith(f"Lembrete: a fatura {invoice['friendlyId']}"), message[
        "Subject"
    ]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Se você já pagou" in text and "xxxx" not in text
    (entry,) = [e for e in api.get("/reminders").json()["data"] if e["invoiceId"] == invoice["id"]]
    assert entry["status"] == "sent", entry


def test_a_template_too_expensive_for_the_real_figures_is_sent_with_the_default(
    api, database, store, mailbox
):
    """It passes upload (the sample e-mail is 20 characters: 90,000 x's), but the customer's
    e-mail is longer, so the real render would build more than the 100,000 allowed."""
    setup_store(api, database, store, after=())
    custom = api.put(
        "/reminders/templates/prior",
        json={"subject": "Custom {{ friendly_id }}", "text": '{{ "x" * (customer_email|length * 4500) }}'},
    )
    assert custom.status_code == 200, custom.text
    # (the SMTP server outlives the database parameter: each run needs its own address)
    sent_with_the_default(
        api, database, mailbox, f"a-customer-with-a-long-address-{uuid.uuid4().hex[:8]}@example.com"
    )


def test_a_stored_template_that_loops_too_long_is_sent_with_the_default(api, database, store, mailbox):
    """A template stored before the limits existed: 90,000 loop items."""
    setup_store(api, database, store, after=())
    with database.write() as session:
        session.add(
            ReminderTemplate(
                store_id=store.id,
                kind="prior",
                subject="Custom {{ friendly_id }}",
                text_body="{% for a in range(300) %}{% for b in range(300) %}x{% endfor %}{% endfor %}",
                html_body=None,
            )
        )
    sent_with_the_default(api, database, mailbox, f"looping-{uuid.uuid4().hex[:8]}@example.com")
