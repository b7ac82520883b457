"""The event types: one per kind of change, named `object.change`."""

ACCOUNT_OPENED = "account.opened"
ACCOUNT_CHANGED = "account.changed"
ACCOUNT_CLOSED = "account.closed"
CREDIT_LIMIT_CHANGED = "account.credit_limit_changed"
TRANSACTION_AUTHORIZED = "transaction.authorized"
TRANSACTION_CHANGED = "transaction.changed"
TRANSACTION_SETTLED = "transaction.settled"
TRANSACTION_CANCELLED = "transaction.cancelled"
TRANSACTION_EXPIRED = "transaction.expired"
TRANSACTION_REFUNDED = "transaction.refunded"
INVOICE_CREATED = "invoice.created"
INVOICE_CHANGED = "invoice.changed"
INVOICE_PAID = "invoice.paid"
INVOICE_CANCELLED = "invoice.cancelled"
INVOICE_POSTPONED = "invoice.postponed"
INVOICE_OVERDUE = "invoice.overdue"
# Credit control (docs/credit-control.md). The policy is the store's: its event has no account.
OVERDUE_POLICY_CHANGED = "store.overdue_policy_changed"
OVERDUE_OVERRIDE_SET = "account.overdue_override_set"
OVERDUE_OVERRIDE_REVOKED = "account.overdue_override_revoked"
TRUST_LEVEL_CHANGED = "account.trust_level_changed"
INVOICE_CREDIT_NOTE_ISSUED = "invoice.credit_note_issued"
INVOICE_WRITTEN_OFF = "invoice.written_off"
INVOICE_BALANCE_APPLIED = "invoice.balance_applied"
INVOICE_LATE_FEE_CHARGED = "invoice.late_fee_charged"
DUNNING_LEVELS_CHANGED = "store.dunning_levels_changed"

EVENT_TYPES = (
    ACCOUNT_OPENED,
    ACCOUNT_CHANGED,
    ACCOUNT_CLOSED,
    CREDIT_LIMIT_CHANGED,
    TRANSACTION_AUTHORIZED,
    TRANSACTION_CHANGED,
    TRANSACTION_SETTLED,
    TRANSACTION_CANCELLED,
    TRANSACTION_EXPIRED,
    TRANSACTION_REFUNDED,
    INVOICE_CREATED,
    INVOICE_CHANGED,
    INVOICE_PAID,
    INVOICE_CANCELLED,
    INVOICE_POSTPONED,
    INVOICE_OVERDUE,
    OVERDUE_POLICY_CHANGED,
    OVERDUE_OVERRIDE_SET,
    OVERDUE_OVERRIDE_REVOKED,
    TRUST_LEVEL_CHANGED,
    INVOICE_CREDIT_NOTE_ISSUED,
    INVOICE_WRITTEN_OFF,
    INVOICE_BALANCE_APPLIED,
    INVOICE_LATE_FEE_CHARGED,
    DUNNING_LEVELS_CHANGED,
)
