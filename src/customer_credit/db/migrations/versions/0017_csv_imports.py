"""csv imports: console CSV imports run by the worker, with their progress and per-line outcomes

Revision ID: 0017_csv_imports
Revises: 0016_invoice_payments

customer_credit.csv_io.jobs explains the statuses and the chunks; customer_credit.csv_io.models
the two tables.
"""

import sqlalchemy as sa
from alembic import op

import customer_credit.db.base

revision = "0017_csv_imports"
down_revision = "0016_invoice_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csv_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", customer_credit.db.base.UtcDateTime(), nullable=False),
        sa.Column("updated_at", customer_credit.db.base.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'previewing', 'previewed', 'applying', 'done', 'failed')",
            name=op.f("ck_csv_imports_status"),
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_csv_imports_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["operators.id"], name=op.f("fk_csv_imports_created_by_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csv_imports")),
    )
    with op.batch_alter_table("csv_imports", schema=None) as batch_op:
        batch_op.create_index("ix_csv_imports_status_updated", ["status", "updated_at"], unique=False)
        batch_op.create_index("ix_csv_imports_store_created", ["store_id", "created_at"], unique=False)
    op.create_table(
        "csv_import_rows",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["csv_imports.id"],
            name=op.f("fk_csv_import_rows_import_id_csv_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "line", name=op.f("pk_csv_import_rows")),
    )
    with op.batch_alter_table("csv_import_rows", schema=None) as batch_op:
        batch_op.create_index("ix_csv_import_rows_action", ["import_id", "action", "line"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("csv_import_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_csv_import_rows_action")
    op.drop_table("csv_import_rows")
    with op.batch_alter_table("csv_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_csv_imports_store_created")
        batch_op.drop_index("ix_csv_imports_status_updated")
    op.drop_table("csv_imports")
