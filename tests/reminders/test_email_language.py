"""The reminder e-mails speak the store's language and carry the name customers know it by:
the default e-mail in Portuguese, Spanish or English by the store's locale, and the store's
display name instead of its internal name. Real SMTP server, frozen clocks."""

from datetime import timedelta

import pytest

from customer_credit.reminders.models import AFTER, PRIOR
from customer_credit.reminders.templates import default_templates
from customer_credit.stores.models import StoreConfig
from tests.events.support import run_worker
from tests.reminders.test_reminders import bill, customer, send_time, setup_store, texts


@pytest.mark.parametrize(
    ("locale", "subject", "pay_button"),
    [
        ("pt_BR", "Lembrete: a fatura", "Pagar agora"),
        ("es_AR", "Recordatorio: la factura", "Pagar ahora"),
        ("en_US", "Reminder: invoice", "Pay now"),
        ("de_DE", "Reminder: invoice", "Pay now"),  # no German catalog: English
        (None, "Reminder: invoice", "Pay now"),
    ],
)
def test_the_default_email_follows_the_store_locale(locale, subject, pay_button):
    prior = default_templates(PRIOR, locale)
    assert prior.subject.startswith(subject)
    assert prior.html is not None and pay_button in prior.html
    after = default_templates(AFTER, locale)
    assert "{{ total_due }}" in after.text and "{{ interest }}" in after.text


def test_the_email_names_the_store_by_its_display_name(api, database, store, mailbox):
    setup_store(api, database, store, after=())
    with database.write() as session:
        session.get(StoreConfig, store.id).display_name = "Casa Aurora Atacado"
    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "40")
    run_worker(database, send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=5))
    (message,) = mailbox.to(email)
    plain, html = texts(message)
    assert "Este é um lembrete de Casa Aurora Atacado" in plain
    assert "Casa Aurora Atacado" in html
    assert store.name not in plain
