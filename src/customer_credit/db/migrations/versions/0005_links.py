"""my credits links: stored, hashed, revocable

Revision ID: 0005_links
Revises: 0004_search_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_links"
down_revision = "0004_search_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "my_credits_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_my_credits_links_store_id_stores")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_my_credits_links_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_my_credits_links")),
        sa.UniqueConstraint("public_id", name=op.f("uq_my_credits_links_public_id")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_my_credits_links_token_sha256")),
    )
    with op.batch_alter_table("my_credits_links", schema=None) as batch_op:
        batch_op.create_index("ix_my_credits_links_account", ["account_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("my_credits_links", schema=None) as batch_op:
        batch_op.drop_index("ix_my_credits_links_account")
    op.drop_table("my_credits_links")
