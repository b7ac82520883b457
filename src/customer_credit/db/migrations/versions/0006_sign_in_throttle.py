"""console sign-in throttling state, shared by all processes

Revision ID: 0006_sign_in_throttle
Revises: 0005_links
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_sign_in_throttle"
down_revision = "0005_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_counters",
        sa.Column("scope", sa.String(length=5), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("scope IN ('pair', 'email', 'ip')", name=op.f("ck_sign_in_counters_scope")),
        sa.PrimaryKeyConstraint("scope", "email", "ip", name=op.f("pk_sign_in_counters")),
    )
    with op.batch_alter_table("sign_in_counters", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_counters_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_counters", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_counters_updated_at")
    op.drop_table("sign_in_counters")
