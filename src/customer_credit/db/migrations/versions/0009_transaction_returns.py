"""transactions: what went back to the customer

No schema change: what went back on a transaction is derived, not stored. Refunds (and their
paid excess) already have columns; cancellations are read off the invoices, which keep what
each cancellation released (value − creditValue) and never change after it. See
transactions/returns.py and docs/decisions.md ("Refunds after cancellations"). The revision
stays so that the chain of ids does not change.

Revision ID: 0009_transaction_returns
Revises: 0008_webhook_deliveries
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_transaction_returns"
down_revision = "0008_webhook_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change (see the module docstring)."""


def downgrade() -> None:
    """Nothing to undo."""
