"""Imports every domain's tables so that the metadata (and Alembic) sees them all."""

from customer_credit.accounts.models import Account, Holder
from customer_credit.auth.models import ApiKey
from customer_credit.db.base import Base
from customer_credit.idempotency.models import IdempotencyRecord
from customer_credit.invoices.models import Invoice
from customer_credit.ledger.models import Statement
from customer_credit.stores.models import Store, StoreConfig
from customer_credit.transactions.models import Transaction

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Holder",
    "IdempotencyRecord",
    "Invoice",
    "Statement",
    "Store",
    "StoreConfig",
    "Transaction",
]
