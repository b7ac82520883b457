"""Invoice ids, "{transactionId}-{installment:02d}" (the product rules' Identifiers), built and
read only here: the transaction's id comes back from an invoice's id with no query. This module
imports nothing of the service, so the outbox and the schemas use it with no import cycle."""


def invoice_public_id(transaction_public_id: str, installment: int) -> str:
    return f"{transaction_public_id}-{installment:02d}"


def transaction_public_id_of(invoice_public_id: str) -> str:
    """The transaction's id inside an invoice id. The installment is what follows the last
    "-", so a caller's transaction id that holds a "-" itself still comes back whole."""
    return invoice_public_id.rsplit("-", 1)[0]
