"""idempotency: store refusals too

Revision ID: 0007_idempotency_outcomes
Revises: 0006_sign_in_throttle
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_idempotency_outcomes"
down_revision = "0006_sign_in_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
