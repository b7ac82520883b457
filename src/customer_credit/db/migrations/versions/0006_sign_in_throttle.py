"""console sign-in throttling state, shared by all processes

Revision ID: 0006_sign_in_throttle
Revises: 0005_links
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_sign_in_throttle"
down_revision = "0005_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
