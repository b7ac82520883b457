"""console: operators and their sessions; store presentation (locale, currency, time zone,
payment instructions)

Revision ID: 0002_console
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_console"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name=op.f("ck_operators_role")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_operators_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
    )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.create_index("uq_operators_store_email", ["store_id", "email"], unique=True)

    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_sessions_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_operator_sessions_token_sha256")),
    )
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_operator_sessions_operator", ["operator_id"], unique=False)

    with op.batch_alter_table("store_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_instructions", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("locale", sa.String(length=35), server_default="en_US", nullable=False)
        )
        batch_op.add_column(
            sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False)
        )
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("store_configs", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("currency")
        batch_op.drop_column("locale")
        batch_op.drop_column("payment_instructions")
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_operator_sessions_operator")
    op.drop_table("operator_sessions")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_index("uq_operators_store_email")
    op.drop_table("operators")
