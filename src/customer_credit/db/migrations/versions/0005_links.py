"""my credits links: stored, hashed, revocable

Revision ID: 0005_links
Revises: 0004_search_indexes
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_links"
down_revision = "0004_search_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
