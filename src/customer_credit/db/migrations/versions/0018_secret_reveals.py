"""secret reveals: half of a secret a console form created, until the page it redirects to shows it

Revision ID: 0018_secret_reveals
Revises: 0017_csv_imports

customer_credit.users.reveals explains the one-time pad: the row holds the secret XOR a pad that
only the browser's cookie holds.
"""

import sqlalchemy as sa
from alembic import op

import customer_credit.db.base

revision = "0018_secret_reveals"
down_revision = "0017_csv_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_reveals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("session_sha256", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("sealed_hex", sa.Text(), nullable=False),
        sa.Column("expires_at", customer_credit.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_reveals")),
    )
    op.create_index("ix_secret_reveals_expires_at", "secret_reveals", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_secret_reveals_expires_at", table_name="secret_reveals")
    op.drop_table("secret_reveals")
