"""invoice payments: one row per payment or reversal of an invoice (the payment timeline)

Revision ID: 0016_invoice_payments
Revises: 0015_invoice_totals

customer_credit.invoices.payments explains the rows. Payments made before this revision get no
row: the ledger names the transaction and installment they paid, not the day the money arrived,
its reference or the interest then due, so a backfill would invent what it records.
"""

import sqlalchemy as sa
from alembic import op

import customer_credit.db.base

revision = "0016_invoice_payments"
down_revision = "0015_invoice_totals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", customer_credit.db.base.UtcDateTime(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("interest_due_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("amount_cents <> 0", name=op.f("ck_invoice_payments_amount")),
        sa.CheckConstraint("interest_due_cents >= 0", name=op.f("ck_invoice_payments_interest_due")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoice_payments_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_invoice_payments_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payments")),
    )
    with op.batch_alter_table("invoice_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoice_payments_invoice_recorded", ["invoice_id", "recorded_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_payments_invoice_recorded")
    op.drop_table("invoice_payments")
