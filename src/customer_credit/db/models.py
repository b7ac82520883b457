"""Imports every domain's tables so that the metadata (and Alembic) sees them all."""

from customer_credit.accounts.models import Account, Holder
from customer_credit.auth.models import ApiKey
from customer_credit.checkout.models import CheckoutOperation, CheckoutPayment, CheckoutSettings
from customer_credit.credit_control.models import (
    CreditControlSettings,
    OverdueOverride,
)
from customer_credit.csv_io.models import CsvImport, CsvImportRow
from customer_credit.db.base import Base
from customer_credit.events.models import (
    Event,
    EventSequence,
    OverdueNotice,
    WebhookDelivery,
    WebhookEndpoint,
)
from customer_credit.idempotency.models import IdempotencyRecord
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.payments import InvoicePayment
from customer_credit.invoices.totals import InvoiceTotals
from customer_credit.ledger.models import Statement
from customer_credit.my_credits.models import MyCreditsLink
from customer_credit.payment_conditions.models import PaymentCondition
from customer_credit.reminders.models import Reminder, ReminderTemplate
from customer_credit.stores.models import Store, StoreConfig
from customer_credit.transactions.models import Transaction
from customer_credit.users.models import Operator, OperatorSession, SecretReveal, SignInCounter

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "CheckoutOperation",
    "CheckoutPayment",
    "CheckoutSettings",
    "CreditControlSettings",
    "CsvImport",
    "CsvImportRow",
    "Event",
    "EventSequence",
    "Holder",
    "IdempotencyRecord",
    "MyCreditsLink",
    "Invoice",
    "InvoicePayment",
    "InvoiceTotals",
    "Operator",
    "OperatorSession",
    "OverdueNotice",
    "OverdueOverride",
    "PaymentCondition",
    "Reminder",
    "ReminderTemplate",
    "SecretReveal",
    "SignInCounter",
    "Statement",
    "Store",
    "StoreConfig",
    "Transaction",
    "WebhookDelivery",
    "WebhookEndpoint",
]
