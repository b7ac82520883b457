"""The default reminder e-mails in Portuguese and Spanish (English is in templates.py), chosen
by the store's locale (customer_credit.i18n.language_of). A store's own templates replace them
whatever its language. They use the same variables and the same HTML frame."""

from customer_credit.reminders.models import AFTER, PRIOR

SUBJECTS = {
    "pt_BR": {
        PRIOR: "Lembrete: a fatura {{ friendly_id }} de {{ amount_due }} vence em {{ due_date }}",
        AFTER: "Vencida: a fatura {{ friendly_id }} de {{ total_due }} venceu em {{ due_date }}",
    },
    "es": {
        PRIOR: "Recordatorio: la factura {{ friendly_id }} de {{ amount_due }} vence el {{ due_date }}",
        AFTER: "Vencida: la factura {{ friendly_id }} de {{ total_due }} venció el {{ due_date }}",
    },
}

TEXTS = {
    "pt_BR": {
        PRIOR: """Olá,

Este é um lembrete de {{ store_name }}: a fatura {{ friendly_id }} (parcela {{ installment }} de {{ installments }}) de {{ amount_due }} vence em {{ due_date }}{% if days_until_due %}, daqui a {{ days_until_due }} dia{{ "s" if days_until_due != 1 else "" }}{% endif %}.
{% if payment_link %}
Pague online: {{ payment_link }}
{% endif %}{% if payment_instructions %}
Como pagar:
{{ payment_instructions }}
{% endif %}
Se você já pagou, desconsidere esta mensagem.
""",
        AFTER: """Olá,

A fatura {{ friendly_id }} de {{ store_name }} (parcela {{ installment }} de {{ installments }}) venceu em {{ due_date }} e está vencida há {{ days_overdue }} dia{{ "s" if days_overdue != 1 else "" }}.

Valor devido: {{ amount_due }}
Juros de atraso: {{ interest }}
Total a pagar: {{ total_due }}
{% if late_fee %}
Uma multa de {{ late_fee }} foi cobrada em uma fatura separada.
{% endif %}{% if payment_link %}
Pague online: {{ payment_link }}
{% endif %}{% if payment_instructions %}
Como pagar:
{{ payment_instructions }}
{% endif %}
Se você já pagou, desconsidere esta mensagem.
""",
    },
    "es": {
        PRIOR: """Hola:

Este es un recordatorio de {{ store_name }}: la factura {{ friendly_id }} (cuota {{ installment }} de {{ installments }}) por {{ amount_due }} vence el {{ due_date }}{% if days_until_due %}, dentro de {{ days_until_due }} día{{ "s" if days_until_due != 1 else "" }}{% endif %}.
{% if payment_link %}
Pague en línea: {{ payment_link }}
{% endif %}{% if payment_instructions %}
Cómo pagar:
{{ payment_instructions }}
{% endif %}
Si ya pagó, ignore este mensaje.
""",
        AFTER: """Hola:

La factura {{ friendly_id }} de {{ store_name }} (cuota {{ installment }} de {{ installments }}) venció el {{ due_date }} y lleva {{ days_overdue }} día{{ "s" if days_overdue != 1 else "" }} de atraso.

Importe adeudado: {{ amount_due }}
Intereses de mora: {{ interest }}
Total a pagar: {{ total_due }}
{% if late_fee %}
Se cobró un recargo de {{ late_fee }} en una factura aparte.
{% endif %}{% if payment_link %}
Pague en línea: {{ payment_link }}
{% endif %}{% if payment_instructions %}
Cómo pagar:
{{ payment_instructions }}
{% endif %}
Si ya pagó, ignore este mensaje.
""",
    },
}

FRAME_WORDS = {
    "pt_BR": ("Pagar agora", "Como pagar", "Se você já pagou, desconsidere esta mensagem."),
    "es": ("Pagar ahora", "Cómo pagar", "Si ya pagó, ignore este mensaje."),
}

HTML_BODIES = {
    "pt_BR": {
        PRIOR: "<p>Olá,</p>\n<p>Este é um lembrete de {{ store_name }}: a fatura "
        "<strong>{{ friendly_id }}</strong> (parcela {{ installment }} de {{ installments }}) "
        "de <strong>{{ amount_due }}</strong> vence em <strong>{{ due_date }}</strong>.</p>",
        AFTER: "<p>Olá,</p>\n<p>A fatura <strong>{{ friendly_id }}</strong> de {{ store_name }} "
        "(parcela {{ installment }} de {{ installments }}) venceu em "
        "<strong>{{ due_date }}</strong> e está vencida há {{ days_overdue }} dias.</p>\n"
        "<table><tr><td>Valor devido</td><td>{{ amount_due }}</td></tr>"
        "<tr><td>Juros de atraso</td><td>{{ interest }}</td></tr>"
        "<tr><td><strong>Total a pagar</strong></td><td><strong>{{ total_due }}</strong></td></tr></table>"
        "{% if late_fee %}<p>Uma multa de <strong>{{ late_fee }}</strong> foi cobrada em uma fatura "
        "separada.</p>{% endif %}",
    },
    "es": {
        PRIOR: "<p>Hola:</p>\n<p>Este es un recordatorio de {{ store_name }}: la factura "
        "<strong>{{ friendly_id }}</strong> (cuota {{ installment }} de {{ installments }}) "
        "por <strong>{{ amount_due }}</strong> vence el <strong>{{ due_date }}</strong>.</p>",
        AFTER: "<p>Hola:</p>\n<p>La factura <strong>{{ friendly_id }}</strong> de {{ store_name }} "
        "(cuota {{ installment }} de {{ installments }}) venció el "
        "<strong>{{ due_date }}</strong> y lleva {{ days_overdue }} días de atraso.</p>\n"
        "<table><tr><td>Importe adeudado</td><td>{{ amount_due }}</td></tr>"
        "<tr><td>Intereses de mora</td><td>{{ interest }}</td></tr>"
        "<tr><td><strong>Total a pagar</strong></td><td><strong>{{ total_due }}</strong></td></tr></table>"
        "{% if late_fee %}<p>Se cobró un recargo de <strong>{{ late_fee }}</strong> en una factura "
        "aparte.</p>{% endif %}",
    },
}
