"""webhook deliveries keep status and timing, not response bodies

Revision ID: 0008_webhook_deliveries
Revises: 0007_idempotency_outcomes
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_webhook_deliveries"
down_revision = "0007_idempotency_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
