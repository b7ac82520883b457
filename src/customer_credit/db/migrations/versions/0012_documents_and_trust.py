"""store identity on documents; an account's trust level

Revision ID: 0012_documents_and_trust
Revises: 0011_overdue_policy
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_documents_and_trust"
down_revision = "0011_overdue_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store_configs", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("logo_media_type", sa.String(length=20), nullable=True))
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("trust_level", sa.String(length=8), server_default="normal", nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        # SQLite cannot add a CHECK in place; the service keeps the rule there.
        op.create_check_constraint(
            "ck_accounts_trust_level", "accounts", "trust_level IN ('good', 'normal', 'watch')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_accounts_trust_level", "accounts", type_="check")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("trust_level")
    with op.batch_alter_table("store_configs", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("logo_media_type")
        batch_op.drop_column("logo")
        batch_op.drop_column("display_name")
