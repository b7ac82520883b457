"""account payments index: My Credits lists an account's latest payments received

Revision ID: 0020_account_payments_index
Revises: 0019_month_sum_indexes

The customer's page shows the latest payments on an account's invoices, newest day first;
invoice_payments was indexed by invoice only, so that list read every payment of the store.
"""

from alembic import op

revision = "0020_account_payments_index"
down_revision = "0019_month_sum_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_invoice_payments_account_paid_on", "invoice_payments", ["account_id", "paid_on", "recorded_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_payments_account_paid_on", table_name="invoice_payments")
