"""transactions: what went back to the customer

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
    pass


def downgrade() -> None:
    pass
